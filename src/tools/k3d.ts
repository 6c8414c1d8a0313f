/** Typed calls to the k3d CLI. */
import { KeystoneError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { parseK3dVersion, type Version } from './versions.js';

export async function k3dVersion(runner: Runner): Promise<Version> {
  const result = await runner.run('k3d', ['version'], { timeoutMs: 15_000 });
  return parseK3dVersion(result.stdout);
}

/**
 * The fields keystone reads from `k3d cluster list -o json` (k3d adds the counts for JSON output).
 * Checked by hand rather than with zod: `status` and completion run this, and loading zod would
 * cost them ~20 ms for a machine-written document.
 */
export interface ListedCluster {
  name: string;
  serversRunning: number;
  serversCount: number;
  agentsRunning: number;
  agentsCount: number;
  hasLoadbalancer?: boolean;
  nodes?: { name: string; role: string; State?: { Running?: boolean } }[];
}

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isListedNode(v: unknown): boolean {
  if (!isRecord(v) || typeof v.name !== 'string' || typeof v.role !== 'string') return false;
  if (v.State === undefined) return true;
  return isRecord(v.State) && (v.State.Running === undefined || typeof v.State.Running === 'boolean');
}

function isListedCluster(v: unknown): v is ListedCluster {
  return (
    isRecord(v) &&
    typeof v.name === 'string' &&
    isInt(v.serversRunning) &&
    isInt(v.serversCount) &&
    isInt(v.agentsRunning) &&
    isInt(v.agentsCount) &&
    (v.hasLoadbalancer === undefined || typeof v.hasLoadbalancer === 'boolean') &&
    (v.nodes === undefined || (Array.isArray(v.nodes) && v.nodes.every(isListedNode)))
  );
}

export async function k3dClusterList(runner: Runner): Promise<ListedCluster[]> {
  const result = await runner.run('k3d', ['cluster', 'list', '-o', 'json'], { timeoutMs: 30_000 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout || '[]');
  } catch {
    throw new KeystoneError('k3d cluster list -o json printed something that is not JSON', {
      hint: 'check `k3d version` (keystone needs k3d >= 5.8)',
    });
  }
  const clusters = parsed ?? [];
  if (!Array.isArray(clusters) || !clusters.every(isListedCluster)) {
    throw new KeystoneError('k3d cluster list -o json printed an unexpected document', {
      hint: 'check `k3d version` (keystone needs k3d >= 5.8)',
    });
  }
  return clusters;
}

export async function k3dFindCluster(runner: Runner, name: string): Promise<ListedCluster | undefined> {
  return (await k3dClusterList(runner)).find((c) => c.name === name);
}

export interface K3dCallOptions {
  timeoutMs: number;
  env?: Record<string, string | undefined>;
}

export async function k3dClusterCreate(runner: Runner, configFile: string, options: K3dCallOptions): Promise<void> {
  await runner.run('k3d', ['cluster', 'create', '--config', configFile], { ...options, mutates: true });
}

export async function k3dClusterStart(runner: Runner, name: string, options: K3dCallOptions): Promise<void> {
  await runner.run('k3d', ['cluster', 'start', name, '--wait'], { ...options, mutates: true });
}

export async function k3dClusterStop(runner: Runner, name: string, options: K3dCallOptions): Promise<void> {
  await runner.run('k3d', ['cluster', 'stop', name], { ...options, mutates: true });
}

export async function k3dClusterDelete(runner: Runner, name: string, options: K3dCallOptions): Promise<void> {
  await runner.run('k3d', ['cluster', 'delete', name], { ...options, mutates: true });
}

/**
 * The cluster's kubeconfig as k3d prints it (`---`, then the document; k3d v5.8.3
 * cmd/kubeconfig/kubeconfigGet.go). It holds credentials: never log it.
 */
export async function k3dKubeconfigGet(runner: Runner, name: string, options: K3dCallOptions): Promise<string> {
  return (await runner.run('k3d', ['kubeconfig', 'get', name], options)).stdout;
}
