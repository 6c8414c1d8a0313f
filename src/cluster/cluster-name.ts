/** The cluster name from the k3d config, read cheaply; anything unusual falls back to full validation. */
import { readFile } from 'node:fs/promises';
import { loadYaml } from '../yaml-module.js';
import type { LoadedClusterConfig } from './config.js';

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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
