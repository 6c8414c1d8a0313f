/**
 * Where a run's input and outputs live, one strategy per kind of cluster:
 *   - the local k3d cluster: ./data is mounted at /data on every node, so the input is staged in
 *     data/<tool>/runs/<run-id>/ on this machine and the outputs appear beside it as they are written;
 *   - another cluster (--context): the run directory is on a PersistentVolumeClaim, the input is
 *     uploaded into it through a helper pod, and the Job mounts the claim (volume.ts).
 * submit.ts asks the storage to stage, to shape the Job, to finish after the Job exists, and
 * to undo its staging when the submission fails: nothing half-done stays behind.
 */
import { hostStorage } from './host.js';
import { volumeStorage } from './volume.js';
import type { RunPlace, RunStorage, StorageContext } from './types.js';

export type { RunPlace, RunStorage, StorageContext } from './types.js';

export function storageFor(ctx: StorageContext, run: RunPlace): RunStorage {
  return ctx.target.local ? hostStorage(ctx, run) : volumeStorage(ctx, run);
}
