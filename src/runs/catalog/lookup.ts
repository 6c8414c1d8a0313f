/** Finding runs by what the user typed: a run id checked before any request, recent runs for `jobs`. */
import { KeystoneError, UsageError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { printable } from '../../operate/names.js';
import { listRuns } from './list.js';
import { runIdPattern, type RunSummary } from '../model.js';

/** Runs that finished longer ago than this are left out of `keystone jobs` unless --all. */
export const recentRunDays = 7;

export function requireRunId(id: string): string {
  if (!runIdPattern.test(id))
    throw new UsageError(
      `"${printable(id)}" is not a run id`,
      'run ids look like 20261125-214700-a3f9; `keystone jobs` lists them',
    );
  return id;
}

/** The run with this id, or an error naming the recent ones. */
export async function findRun(client: KubeClient, namespace: string, id: string): Promise<RunSummary> {
  const runs = await listRuns(client, namespace);
  const run = runs.find((r) => r.runId === id);
  if (!run) {
    const recent = runs.slice(0, 5).map((r) => r.runId);
    throw new KeystoneError(
      `no run ${id}${recent.length ? `; recent runs: ${recent.join(', ')}` : '; there are no runs'}`,
      { hint: '`keystone jobs --all` lists every run' },
    );
  }
  return run;
}

/** What `keystone jobs` lists: runs of the tool (if given) still going or finished in the last days (or all). */
export function recentRuns(runs: RunSummary[], options: RecentRunOptions, now = Date.now()): RunSummary[] {
  return runs.filter((r) => isRecentRun(r, options, now));
}

export interface RecentRunOptions {
  tool?: string | undefined;
  all?: boolean | undefined;
}

/** One run of recentRuns. Decided by tool, state and finish time, never by pods (listRuns' `keep`). */
export function isRecentRun(
  r: Pick<RunSummary, 'tool' | 'state' | 'finishedAt'>,
  options: RecentRunOptions,
  now = Date.now(),
): boolean {
  const window = recentRunDays * 24 * 3600_000;
  return (
    (!options.tool || r.tool === options.tool) &&
    (options.all ||
      r.state === 'Running' ||
      r.state === 'Pending' ||
      !r.finishedAt ||
      now - Date.parse(r.finishedAt) < window)
  );
}
