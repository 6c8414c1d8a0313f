/**
 * The cluster's name and shape from the k3d config, read cheaply (no zod); anything unusual falls
 * back to the full validation, which says exactly what is wrong.
 */
// Synchronous reads of small local files: cheaper than loading Node's fs/promises, which
// every TAB would pay for (docs/performance.md).
import { readFileSync } from 'node:fs';
import { loadYaml } from '../yaml-module.js';
import { plainYaml } from '../plain-yaml.js';
import type { LoadedClusterConfig } from './config.js';
import { dns1123Label } from '../vocabulary.js';

type ConfigFields = { apiVersion?: unknown; metadata?: { name?: unknown }; servers?: unknown; agents?: unknown } | null;

/** The config parsed as plain YAML, or undefined when it cannot be read or parsed. */
async function readFields(path: string): Promise<ConfigFields | undefined> {
  try {
    const text = readFileSync(path, 'utf8');
    return (plainYaml(text) ?? (await loadYaml()).parse(text)) as ConfigFields;
  } catch {
    return undefined; // unreadable or not YAML: the full validation says exactly what is wrong
  }
}

const isClusterName = (name: unknown): name is string =>
  typeof name === 'string' && dns1123Label.test(name) && name.length <= 32;

export async function readClusterName(path: string, validate: () => Promise<LoadedClusterConfig>): Promise<string> {
  const doc = await readFields(path);
  const name = doc?.metadata?.name;
  // Only a current-version file is read cheaply: an older one is migrated, an unnamed one defaulted (config.ts).
  if (doc?.apiVersion === 'k3d.io/v1alpha5' && isClusterName(name)) return name;
  return (await validate()).config.metadata.name;
}

export interface ClusterShape {
  name: string;
  servers: number;
  agents: number;
}

/** Name, servers and agents (agents default to 0), for commands that only read the cluster. */
export async function readClusterShape(
  path: string,
  validate: () => Promise<LoadedClusterConfig>,
): Promise<ClusterShape> {
  const doc = await readFields(path);
  const name = doc?.metadata?.name;
  const servers = doc?.servers;
  const agents = doc?.agents ?? 0;
  const count = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
  if (doc?.apiVersion === 'k3d.io/v1alpha5' && isClusterName(name) && count(servers) && count(agents) && servers >= 1) {
    return { name, servers, agents };
  }
  const { config } = await validate();
  return { name: config.metadata.name, servers: config.servers, agents: config.agents };
}
