/**
 * Staging a run's input on the keystone cluster: ./data is mounted at /data on every node, so
 * the input is copied to data/<tool>/runs/<run-id>/ and the Job runs there: outputs land next to
 * it on the host. (Another cluster gets it through its run volume: upload.ts.) Every
 * write goes through the guarded data directory (src/guarded-fs.ts): nothing lands outside data/
 * (a symlinked data/<tool>/runs is refused), and Ctrl-C stops the copy at the next file.
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuardedDir } from '../../guarded-fs.js';
import type { ResolvedInput } from '../request/input.js';
import { envFile, type Sweep } from '../request/options.js';
import { recordInputDir } from '../record/record.js';

/** Copies the input into the run directory (one copy per sweep index, with its params.env). */
export async function stageOnHost(
  data: GuardedDir,
  input: ResolvedInput,
  runDir: string,
  sweep: Sweep | undefined,
): Promise<void> {
  // Not world-writable: the run's files belong to the user (the pods run as a non-root user).
  await data.mkdir(runDir, 0o755);
  await chmod(runDir, 0o755);
  const targets = sweep ? sweep.combinations.map((_, i) => join(runDir, String(i))) : [runDir];
  for (const [i, dir] of targets.entries()) {
    await data.mkdir(dir, 0o755);
    // A copy keeps its source's mode, less write for others: a staged input is never writable by other users.
    await data.copyIn(input.path, join(dir, input.name), 0o755);
    if (sweep) await data.writeFile(join(dir, 'params.env'), envFile(sweep.combinations[i]!), 0o644);
  }
  if (sweep) await data.writeFile(join(runDir, 'sweep.json'), `${JSON.stringify(sweep, null, 2)}\n`, 0o644);
  // The run's own copy of its input as submitted, which the run does not touch: `jobs rerun` starts from it.
  const kept = join(runDir, recordInputDir);
  await data.mkdir(kept, 0o755);
  await data.copyIn(input.path, join(kept, input.name), 0o755);
}
