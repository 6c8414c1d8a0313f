/**
 * Staging a run's input. On the keystone cluster, ./data is mounted at /data on every node, so
 * the input is copied to data/<tool>/runs/<run-id>/ and the Job runs there: outputs land next to
 * it on the host. On another cluster (--context) there is no such mount: the input travels in a
 * ConfigMap (1 MiB at most), copied by an init container into the node's /data/<tool>/runs/<run-id>.
 */
import { chmod, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeystoneError } from '../errors.js';
import type { KubeObject } from '../kube/client.js';
import type { ResolvedInput } from './input.js';
import { envFile, type Sweep } from './run-options.js';

export const configMapLimitBytes = 1024 * 1024;

/** Copies the input into the run directory (one copy per sweep index, with its params.env). */
export async function stageOnHost(input: ResolvedInput, runDir: string, sweep: Sweep | undefined): Promise<void> {
  // Not world-writable: the run's files belong to the user (the pods run as a non-root user).
  await mkdir(runDir, { recursive: true, mode: 0o755 });
  await chmod(runDir, 0o755);
  const targets = sweep ? sweep.combinations.map((_, i) => join(runDir, String(i))) : [runDir];
  for (const [i, dir] of targets.entries()) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await cp(input.path, join(dir, input.name), { recursive: true, dereference: true, errorOnExist: true, force: false });
    await dropWriteForOthers(join(dir, input.name));
    if (sweep) await writeFile(join(dir, 'params.env'), envFile(sweep.combinations[i]!), { mode: 0o644 });
  }
  if (sweep) await writeFile(join(runDir, 'sweep.json'), `${JSON.stringify(sweep, null, 2)}\n`, { mode: 0o644 });
}

/** A copy keeps its source's mode; a staged input is never writable by other users. */
async function dropWriteForOthers(path: string): Promise<void> {
  const info = await stat(path);
  await chmod(path, info.mode & 0o755);
  if (info.isDirectory()) for (const entry of await readdir(path)) await dropWriteForOthers(join(path, entry));
}

export interface ConfigMapStaging {
  configMap: KubeObject;
  items: { key: string; path: string }[];
}

/** The input as a ConfigMap (binary-safe), keys f0..fN mapped back to their paths. */
export async function stageInConfigMap(input: ResolvedInput, name: string, namespace: string, labels: Record<string, string>, sweep: Sweep | undefined): Promise<ConfigMapStaging> {
  if (input.bytes > configMapLimitBytes) {
    throw new KeystoneError(`input ${input.name} is ${(input.bytes / 1024 / 1024).toFixed(1)} MiB; another cluster receives inputs through a ConfigMap, which holds at most 1 MiB`, {
      hint: 'make the input smaller, or copy it to the cluster\'s storage yourself',
      exitCode: 2,
    });
  }
  const binaryData: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  for (const [i, file] of input.files.entries()) {
    const key = `f${i}`;
    binaryData[key] = (await readFile(file.absolutePath)).toString('base64');
    items.push({ key, path: file.relativePath });
  }
  if (sweep) {
    for (const [i, combo] of sweep.combinations.entries()) {
      const key = `p${i}`;
      binaryData[key] = Buffer.from(envFile(combo)).toString('base64');
      items.push({ key, path: `params/${i}.env` });
    }
  }
  return {
    configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, binaryData },
    items,
  };
}
