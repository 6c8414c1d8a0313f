/**
 * What setup needs from the machine before it creates anything: free host ports, disk space for
 * the images, and a kubeconfig k3d can write. `doctor` shows these checks; setup runs the same
 * ones first, so it does not stop half-way for a reason that could be seen up front.
 */
import { access, constants, readFile, stat } from 'node:fs/promises';
import { loadYaml } from '../yaml-module.js';
import { dirname } from 'node:path';
import type { Runner } from '../exec/runner.js';
import type { Machine } from '../machine.js';
import { hostPortsOf, type ClusterConfig } from './config.js';
import { busyPorts } from './ports.js';
import { busyPortsHint, describeHolders, portHolder } from './port-holders.js';
import type { ClusterState } from './state.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckOutcome {
  status: CheckStatus;
  detail: string;
  hint?: string;
}

/** The cluster's host ports: free, or held by the cluster itself while it runs. */
export async function hostPortsCheck(
  runner: Runner,
  config: ClusterConfig,
  configLabel: string,
  state: ClusterState | undefined,
): Promise<CheckOutcome> {
  const wanted = hostPortsOf(config);
  const busy = await busyPorts(wanted);
  if (busy.length === 0)
    return { status: 'ok', detail: `${wanted.join(', ')} ${wanted.length === 1 ? 'is' : 'are'} free` };
  if (state && (state.phase === 'running' || state.phase === 'degraded')) {
    return { status: 'ok', detail: `${busy.join(', ')} held by cluster ${state.name}` };
  }
  const holders = await Promise.all(busy.map((port) => portHolder(runner, port)));
  return {
    status: 'fail',
    detail: `host port${busy.length > 1 ? 's' : ''} ${describeHolders(holders)} already in use; the cluster needs ${wanted.join(', ')}`,
    hint: busyPortsHint(holders, configLabel),
  };
}

const GiB = 1024 ** 3;

export interface DiskNeed {
  /** Bytes of the images Docker has (docker image inspect .Size). */
  knownBytes: number;
  /** What each image still to build is expected to take (its compose.yaml estimate). */
  toBuild: number[];
  /** Nodes the images are imported into: k3d image import loads them into every node's containerd. */
  nodes: number;
}

/** Docker keeps the built images, and each node a copy of each imported one. */
export function bytesNeeded(need: DiskNeed): number {
  return (need.knownBytes + need.toBuild.reduce((sum, bytes) => sum + bytes, 0)) * (1 + need.nodes);
}

export function formatGiB(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

/** Free space where Docker stores images and containers (DockerRootDir), against what the images take. */
export async function diskSpaceCheck(
  runner: Runner,
  machine: Machine,
  need: DiskNeed,
  timeoutMs: number,
): Promise<CheckOutcome> {
  const r = await runner.run('docker', ['info', '--format', '{{json .DockerRootDir}}'], { timeoutMs, reject: false });
  let root: string | undefined;
  try {
    root = r.exitCode === 0 ? (JSON.parse(r.stdout.trim()) as string) : undefined;
  } catch {
    root = undefined;
  }
  const needed = bytesNeeded(need);
  const building = need.toBuild.reduce((sum, bytes) => sum + bytes, 0);
  const basis = `${need.toBuild.length ? `${need.toBuild.length} image${need.toBuild.length === 1 ? '' : 's'} to build (about ${formatGiB(building)}${need.toBuild.length === 1 ? '' : ' together'}) and ` : ''}a copy in each of ${need.nodes} nodes`;
  if (!root) return { status: 'warn', detail: 'could not ask Docker where it keeps its data; free space not checked' };
  let free: number;
  try {
    free = await machine.freeBytes(root);
  } catch {
    // Docker Desktop keeps its data in a VM: the path is not on this machine's file system.
    return {
      status: 'warn',
      detail: `${root} is not on this machine (a Docker VM?); make sure Docker has about ${formatGiB(needed)} free (${basis})`,
    };
  }
  if (free < needed) {
    return {
      status: 'fail',
      detail: `${formatGiB(free)} free at ${root}; the images need about ${formatGiB(needed)} (${basis})`,
      hint: 'free space (`docker system prune` removes unused images and build cache), or lower `agents` in the cluster config',
    };
  }
  return { status: 'ok', detail: `${formatGiB(free)} free at ${root} (about ${formatGiB(needed)} needed)` };
}

/** k3d writes the cluster's context into this file (created if missing): it must be writable. */
export async function kubeconfigWritableCheck(file: string): Promise<CheckOutcome> {
  let existing = file;
  for (;;) {
    try {
      const s = await stat(existing);
      if (existing !== file && !s.isDirectory()) {
        return {
          status: 'fail',
          detail: `${file} cannot be created: ${existing} is not a directory`,
          hint: `point KUBECONFIG (or --kubeconfig) at a file in a directory, e.g. ~/.kube/config`,
        };
      }
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  try {
    await access(existing, constants.W_OK);
  } catch {
    return {
      status: 'fail',
      detail: `${existing} is not writable, so the cluster's context cannot be written to ${file}`,
      hint: `make it writable (\`chmod u+w ${existing}\`) or point KUBECONFIG at a writable file`,
    };
  }
  return { status: 'ok', detail: existing === file ? `${file} is writable` : `${file} will be created` };
}

/**
 * Every kubeconfig file kubectl (and keystone) reads must be valid YAML: k3d merges the new
 * context into one, and every later command reads them all; a broken one found only after the
 * cluster was created left setup failing at its kubeconfig step.
 */
export async function kubeconfigsValidCheck(files: readonly string[]): Promise<CheckOutcome> {
  const { parseDocument } = await loadYaml();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue; // missing files are skipped, as kubectl skips them
    }
    const error = parseDocument(text).errors[0];
    if (error) {
      const at = error.linePos?.[0] ? `:${error.linePos[0].line}:${error.linePos[0].col}` : '';
      return {
        status: 'fail',
        detail: `${file}${at} is not valid YAML: ${error.message.split('\n')[0]}`,
        hint: 'kubectl refuses it too: fix or move it, or leave it out of KUBECONFIG',
      };
    }
  }
  return { status: 'ok', detail: `${files.join(', ')} valid` };
}
