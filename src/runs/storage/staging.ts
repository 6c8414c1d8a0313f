/**
 * Staging a run's input on the keystone cluster: ./data is mounted at /data on every node, so
 * the input is copied to data/<tool>/runs/<run-id>/ and the Job runs there: outputs land next to
 * it on the host. (Another cluster gets it through its run volume: upload.ts.)
 */
import { chmod, cp, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedInput } from '../request/input.js';
import { envFile, type Sweep } from '../request/options.js';

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
