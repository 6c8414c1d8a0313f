/**
 * The cluster's name and shape from the k3d config, read cheaply (no zod); anything unusual falls
 * back to the full validation, which says exactly what is wrong.
 */
import { readFile } from 'node:fs/promises';
import { loadYaml } from '../yaml-module.js';
import type { LoadedClusterConfig } from './config.js';
import { dns1123Label } from '../kube/vocabulary.js';

export async function readClusterName(path: string, validate: () => Promise<LoadedClusterConfig>): Promise<string> {
  try {
    const { parse } = await loadYaml();
    const name = (parse(await readFile(path, 'utf8')) as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (typeof name === 'string' && dns1123Label.test(name) && name.length <= 32) return name;
  } catch {
    // Unreadable or not YAML: the full validation below says exactly what is wrong.
  }
  return (await validate()).config.metadata.name;
}

export interface ClusterShape {
  name: string;
  servers: number;
  agents: number;
}

/** Name, servers and agents (agents default to 0), for commands that only read the cluster. */
export async function readClusterShape(path: string, validate: () => Promise<LoadedClusterConfig>): Promise<ClusterShape> {
  try {
    const { parse } = await loadYaml();
    const doc = parse(await readFile(path, 'utf8')) as { metadata?: { name?: unknown }; servers?: unknown; agents?: unknown } | null;
    const name = doc?.metadata?.name;
    const servers = doc?.servers;
    const agents = doc?.agents ?? 0;
    const count = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
    if (typeof name === 'string' && dns1123Label.test(name) && name.length <= 32 && count(servers) && count(agents) && servers >= 1 && servers <= 9 && agents <= 32) {
      return { name, servers, agents };
    }
  } catch {
    // fall through to the full validation
  }
  const { config } = await validate();
  return { name: config.metadata.name, servers: config.servers, agents: config.agents };
}
