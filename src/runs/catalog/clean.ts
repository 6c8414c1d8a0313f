/**
 * `keystone jobs clean`'s domain: which finished runs a clean selects, which of their run
 * directories may be removed, and removing one run (outputs first, then the Job, so a run whose
 * outputs could not be removed is still listed and can be cleaned again).
 */
import type { GuardedDir } from '../../guarded-fs.js';
import { relative, resolve, sep } from 'node:path';
import type { KubeClient } from '../../kube/client.js';
import { deleteRun } from './list.js';
import { runKind, runsFolder, type RunSummary } from '../model.js';

export interface CleanSelection {
  /** Only runs that finished at least this long ago (0: any). */
  olderThanMs: number;
  failed?: boolean | undefined;
  tool?: string | undefined;
}

/** The finished runs (succeeded or failed) the selection names. */
export function selectFinishedRuns(runs: RunSummary[], selection: CleanSelection, now = Date.now()): RunSummary[] {
  return runs.filter(
    (r) =>
      (r.state === 'Succeeded' || r.state === 'Failed') &&
      (selection.tool === undefined || r.tool === selection.tool) &&
      (!selection.failed || r.state === 'Failed') &&
      now - Date.parse(r.finishedAt ?? r.startedAt ?? new Date(now).toISOString()) >= selection.olderThanMs,
  );
}

/** The run's directory if it is one keystone made under data/<tool>/runs/ on this machine; else undefined. */
export function purgeableRunDir(run: RunSummary, dataDir: string): string | undefined {
  if (!run.outputLocal || run.outputDir === null) return undefined;
  const root = resolve(dataDir);
  const dir = resolve(run.outputDir);
  return dir.startsWith(`${root}${sep}`) && relative(root, dir).split(sep)[1] === runsFolder ? dir : undefined;
}

/**
 * Removes the run: its directory first (when given; or its outputs elsewhere, on another
 * cluster's run volume, by `removeOutputs`), then its Job and pods (or its MPIJob and all it
 * owns). When the outputs cannot be removed the Job is kept too, and the reason is returned
 * (the run stays listed).
 */
export async function removeRun(
  client: KubeClient,
  namespace: string,
  run: RunSummary,
  dir: { data: GuardedDir; path: string } | undefined,
  removeOutputs?: () => Promise<void>,
): Promise<{ kept?: unknown; missing?: boolean }> {
  let missing = false;
  try {
    // Through the guarded data directory: a run directory reached through a symlink that leaves
    // data/ is refused, never deleted (src/guarded-fs.ts).
    if (dir) {
      missing = !(await dir.data.exists(dir.path));
      if (!missing) await dir.data.remove(dir.path);
    } else await removeOutputs?.();
  } catch (err) {
    return { kept: err };
  }
  // Once the outputs are gone the Job goes too, Ctrl-C or not: the run in hand is finished.
  await deleteRun(client, namespace, run.job, runKind(run));
  return { missing };
}
