/**
 * `keystone jobs`: the runs, newest first (squeue). Apart from the subcommands in jobs.ts, so a
 * listing loads only what it uses: not the follow, cancel, clean and volume code, with the
 * profiles' validation and the pod exec they bring (1 MB of the bundle, docs/performance.md).
 */
import { relative } from 'node:path';
import type { AppContext } from '../app-context.js';
import { UsageError } from '../errors.js';
import { listRuns } from '../runs/catalog/list.js';
import { isRecentRun, recentRunDays } from '../runs/catalog/lookup.js';
import { nameVolumeNodes } from '../runs/storage/volume-node.js';
import { shownVolumeDir, type RunSummary } from '../runs/model.js';
import { formatAge } from '../operate/pod-summary.js';
import { stackNamespace } from '../vocabulary.js';

export async function jobsList(
  app: AppContext,
  options: { output: string; tool?: string; all?: boolean; orphans?: boolean },
): Promise<RunSummary[]> {
  if (options.orphans) {
    if (options.all)
      throw new UsageError(
        '--all does not go with --orphans',
        'it lists every run directory without a run, whatever its age',
      );
    const { listOrphans } = await import('./jobs-orphans.js');
    await listOrphans(app, { output: options.output, tool: options.tool });
    return [];
  }
  const client = await app.client();
  // Only the listed runs' pods are fetched, and only those whose summary needs them. Every run's
  // id is kept (before the filter) for the note on run directories without a run.
  const now = Date.now();
  const allIds = new Set<string>();
  const runs = await listRuns(client, stackNamespace, (run) => {
    allIds.add(run.runId);
    return isRecentRun(run, options, now);
  });
  // A Pending run whose own volume's node cannot take it: that node named (gone, NotReady or full).
  await nameVolumeNodes(client, stackNamespace, runs);
  if (options.output === 'json' || options.output === 'yaml') {
    await app.ui.document(runs, options.output);
    return runs;
  }
  if (runs.length === 0) {
    app.ui.info(options.all ? 'No runs.' : `No runs in the last ${recentRunDays} days (--all shows older ones).`);
    await noteOrphans(app, options.tool, allIds);
    return runs;
  }
  const c = app.ui.color;
  const wide = options.output === 'wide';
  const rows = runs.map((r) => [
    r.runId,
    r.tool,
    r.state === 'Failed'
      ? c.red(`Failed${r.reason ? ` (${r.reason})` : ''}`)
      : r.sweep
        ? `${r.state} (${r.sweep.succeeded}/${r.sweep.total} ok)`
        : r.state === 'Pending' && r.reason
          ? c.yellow(`Pending (${r.reason})`)
          : r.state,
    r.startedAt ? `${formatAge(Math.round((Date.now() - Date.parse(r.startedAt)) / 1000))} ago` : '-',
    r.durationSeconds !== undefined ? formatAge(r.durationSeconds) : '-',
    r.exitCode !== undefined ? String(r.exitCode) : '-',
    shownOutput(app, r),
    ...(wide ? [r.image ?? '-'] : []),
  ]);
  const { renderTable } = await import('../ui/table.js'); // only when a table is printed
  app.ui.data(
    renderTable(
      ['RUN ID', 'TOOL', 'STATE', 'STARTED', 'DURATION', 'EXIT', 'OUTPUT', ...(wide ? ['IMAGE'] : [])],
      rows,
      app.ui.columns,
    ),
  );
  await noteOrphans(app, options.tool, allIds);
  return runs;
}

/** Under the table: how many run directories on this machine have no run here, and how to see them. */
async function noteOrphans(app: AppContext, tool: string | undefined, runIds: ReadonlySet<string>): Promise<void> {
  const { findOrphans, runDirsOnDisk } = await import('../runs/record/orphans.js');
  const target = await app.target();
  const dirs = await runDirsOnDisk(app.paths.dataDir, { tool });
  if (dirs.every((d) => runIds.has(d.runId))) return; // the usual case: nothing more to read
  const { orphans } = await findOrphans(
    { dataDir: app.paths.dataDir, target, client: () => app.client(), namespace: stackNamespace, tool },
    { dirs, runIds },
  );
  const n = orphans.length;
  if (n === 0) return;
  const scope = `${tool !== undefined ? ` --tool ${tool}` : ''}${app.options.context !== undefined ? ` --context ${target.context}` : ''}`;
  app.ui.info(
    `${n} run director${n === 1 ? 'y' : 'ies'} in ${relative(app.cwd, app.paths.dataDir) || app.paths.dataDir} ${n === 1 ? 'has' : 'have'} no run in context ${target.context} (cancelled, or cleaned without --purge-outputs): \`keystone jobs --orphans${scope}\` lists ${n === 1 ? 'it' : 'them'}, \`keystone jobs clean --orphans${scope}\` removes ${n === 1 ? 'it' : 'them'}`,
  );
}

/** Where a run's outputs are, for people: a path from here, or node:path on another cluster. */
export function shownOutput(app: AppContext, r: RunSummary): string {
  if (r.outputDir === null) return '-';
  if (r.outputLocal) return relative(app.cwd, r.outputDir) || r.outputDir;
  if (r.outputVolume) return shownVolumeDir(r.outputVolume, r.tool, r.runId);
  return r.outputNodes.length ? `${r.outputNodes.join(',')}:${r.outputDir}` : `${r.outputDir} (on its node)`;
}
