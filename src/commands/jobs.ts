/** `keystone jobs` and its subcommands: list, logs, cancel, clean — squeue, scancel and friends. */
import { rm } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import type { AppContext } from '../app-context.js';
import { ExitCode, KeystoneError, UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import type { KubeClient } from '../kube/client.js';
import { stackNamespace } from '../operate/stack-objects.js';
import { followLogs } from '../operate/follow-logs.js';
import { printable } from '../operate/names.js';
import { renderTable } from '../ui/table.js';
import { listRuns, type RunSummary } from '../simulate/runs.js';
import { runIdPattern } from '../simulate/run-id.js';
import { labels, type JobObject } from '../simulate/job-builder.js';
import { followRun, podIndex } from '../simulate/follow-run.js';
import { printRunLine, runPrinter } from '../simulate/run-output.js';
import { deleteRun } from './run-simulation.js';
import { formatAge } from '../operate/pod-summary.js';

async function clientFor(app: AppContext): Promise<KubeClient> {
  const clusterName = await app.clusterName();
  return app.kube(app.target(clusterName));
}

function requireRunId(id: string): string {
  if (!runIdPattern.test(id)) throw new UsageError(`"${printable(id)}" is not a run id`, 'run ids look like 20261125-214700-a3f9; `keystone jobs` lists them');
  return id;
}

async function findRun(client: KubeClient, id: string): Promise<RunSummary> {
  const runs = await listRuns(client, stackNamespace);
  const run = runs.find((r) => r.runId === id);
  if (!run) {
    const recent = runs.slice(0, 5).map((r) => r.runId);
    throw new KeystoneError(`no run ${id}${recent.length ? `; recent runs: ${recent.join(', ')}` : '; there are no runs'}`, { hint: '`keystone jobs --all` lists every run' });
  }
  return run;
}

export async function jobsList(app: AppContext, options: { output: string; tool?: string; all?: boolean }): Promise<RunSummary[]> {
  const client = await clientFor(app);
  const day = 24 * 3600_000;
  const runs = (await listRuns(client, stackNamespace)).filter(
    (r) =>
      (!options.tool || r.tool === options.tool) &&
      (options.all || r.state === 'Running' || r.state === 'Pending' || !r.finishedAt || Date.now() - Date.parse(r.finishedAt) < 7 * day),
  );
  if (options.output === 'json' || options.output === 'yaml') {
    await app.ui.document(runs, options.output);
    return runs;
  }
  if (runs.length === 0) {
    app.ui.info(options.all ? 'No runs.' : 'No runs in the last 7 days (--all shows older ones).');
    return runs;
  }
  const c = app.ui.color;
  const rows = runs.map((r) => [
    r.runId,
    r.tool,
    r.state === 'Failed' ? c.red(`Failed${r.reason ? ` (${r.reason})` : ''}`) : r.sweep ? `${r.state} (${r.sweep.succeeded}/${r.sweep.total} ok)` : r.state,
    r.startedAt ? `${formatAge(Math.round((Date.now() - Date.parse(r.startedAt)) / 1000))} ago` : '-',
    r.durationSeconds !== undefined ? formatAge(r.durationSeconds) : '-',
    r.exitCode !== undefined ? String(r.exitCode) : '-',
    r.outputDir ? relative(app.cwd, r.outputDir) || r.outputDir : '-',
  ]);
  app.ui.data(renderTable(['RUN ID', 'TOOL', 'STATE', 'STARTED', 'DURATION', 'EXIT', 'OUTPUT'], rows, app.ui.columns));
  return runs;
}

export async function jobsLogs(app: AppContext, id: string, follow: boolean): Promise<number> {
  requireRunId(id);
  const client = await clientFor(app);
  const run = await findRun(client, id);
  app.ui.announceInterrupt = false;
  const indexed = Boolean(run.sweep);
  if (follow && (run.state === 'Running' || run.state === 'Pending')) {
    const job = await client.request<JobObject>({ path: `/apis/batch/v1/namespaces/${stackNamespace}/jobs/${run.job}` });
    const outcome = await followRun(client, job, {
      namespace: stackNamespace,
      runId: id,
      indexed,
      signal: app.signal,
      localImages: [],
      timeoutMs: 7 * 24 * 3600_000,
      ...runPrinter(app, id),
    });
    if (outcome.state === 'Detached') return ExitCode.interrupted;
    app.ui.info(outcome.state === 'Succeeded' ? `run ${id} succeeded` : `run ${id} failed with exit code ${outcome.exitCode}`);
    return outcome.exitCode;
  }
  const pods = (await client.list(`/api/v1/namespaces/${stackNamespace}/pods`, { labelSelector: `${labels.runId}=${id}` })).items;
  await followLogs(
    client,
    { kind: 'simulation', name: run.job, selector: `${labels.runId}=${id}` },
    pods,
    { follow: false, timestamps: false, previous: false, namespace: stackNamespace, prefix: indexed ? (pod) => `${podIndex(pod)}` : () => undefined },
    { line: (prefix, _key, text) => printRunLine(app, prefix, text), notice: (t) => app.ui.warn(t) },
    app.signal,
  );
  if (pods.length === 0) app.ui.info(`Run ${id} has no pods (any more); its output is in ${run.outputDir ?? 'its run directory'}.`);
  return ExitCode.ok;
}

export async function jobsCancel(app: AppContext, id: string): Promise<void> {
  requireRunId(id);
  const client = await clientFor(app);
  const run = await findRun(client, id);
  await deleteRun(client, stackNamespace, run.job);
  app.ui.info(`Cancelled run ${id} (${run.state === 'Running' || run.state === 'Pending' ? 'it was stopped' : `it had already ${run.state.toLowerCase()}`}); outputs kept in ${run.outputDir ?? 'its run directory'}`);
}

export async function jobsClean(app: AppContext, options: { olderThan?: string; failed?: boolean; purgeOutputs?: boolean }): Promise<void> {
  const olderThanMs = options.olderThan !== undefined ? parseDuration(options.olderThan, '--older-than') : 0;
  const client = await clientFor(app);
  const now = Date.now();
  const finished = (await listRuns(client, stackNamespace)).filter(
    (r) =>
      (r.state === 'Succeeded' || r.state === 'Failed') &&
      (!options.failed || r.state === 'Failed') &&
      now - Date.parse(r.finishedAt ?? r.startedAt ?? new Date(now).toISOString()) >= olderThanMs,
  );
  if (finished.length === 0) {
    app.ui.info('Nothing to clean.');
    return;
  }
  const dataDir = resolve(app.paths.dataDir);
  for (const run of finished) {
    await deleteRun(client, stackNamespace, run.job);
    let note = 'outputs kept';
    if (options.purgeOutputs && run.outputDir) {
      const dir = resolve(run.outputDir);
      // Only ever a run directory keystone made under data/<tool>/runs/.
      if (dir.startsWith(`${dataDir}${sep}`) && relative(dataDir, dir).split(sep)[1] === 'runs') {
        await rm(dir, { recursive: true, force: true });
        note = `removed ${relative(app.cwd, dir) || dir}`;
      } else {
        note = `outputs not on this machine (${run.outputDir})`;
      }
    }
    app.ui.info(`deleted run ${run.runId} (${run.tool}, ${run.state.toLowerCase()}); ${note}`);
  }
  app.ui.info(`Cleaned ${finished.length} finished run${finished.length === 1 ? '' : 's'}.`);
}
