/** `keystone jobs` and its subcommands: list, logs, cancel, clean — squeue, scancel and friends. */
import { rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { AppContext } from '../app-context.js';
import { ExitCode, KeystoneError, UsageError, stdoutClosedReason } from '../errors.js';
import { maxTimerMs, parseAge } from '../duration.js';
import { describeFsError } from '../fs-errors.js';
import type { KubeClient } from '../kube/client.js';
import { followLogs } from '../operate/follow-logs.js';
import { printable } from '../operate/names.js';
import { deleteRun, listRuns, type RunSummary } from '../simulate/runs.js';
import { runIdPattern } from '../simulate/run-id.js';
import type { JobObject } from '../simulate/job-builder.js';
import { loadProfiles } from '../simulate/profiles.js';
import { createProgressDisplay } from '../simulate/progress-display.js';
import { followRun, podIndex } from '../simulate/follow-run.js';
import { printRunLine, runPrinter } from '../simulate/run-output.js';
import { formatAge } from '../operate/pod-summary.js';
import { annotations, labels, runsFolder, stackNamespace } from '../kube/vocabulary.js';

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
  const client = await app.client();
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
    shownOutput(app, r),
  ]);
  const { renderTable } = await import('../ui/table.js'); // only when a table is printed
  app.ui.data(renderTable(['RUN ID', 'TOOL', 'STATE', 'STARTED', 'DURATION', 'EXIT', 'OUTPUT'], rows, app.ui.columns));
  return runs;
}

/** Where a run's outputs are, for people: a path from here, or node:path on another cluster. */
function shownOutput(app: AppContext, r: RunSummary): string {
  if (r.outputDir === null) return '-';
  if (r.outputLocal) return relative(app.cwd, r.outputDir) || r.outputDir;
  return r.outputNodes.length ? `${r.outputNodes.join(',')}:${r.outputDir}` : `${r.outputDir} (on its node)`;
}

/**
 * The progress line for a followed run, as run-simulation shows it. The total is read from the
 * staged input when it is on this machine (a run on another cluster shows the current value
 * without a percent); the Job's command holds the extra arguments (`-var steps N`).
 */
async function followedProgress(app: AppContext, run: RunSummary, job: JobObject) {
  // Progress is an extra: a profiles.yaml that no longer loads must not stop the logs.
  const profile = (await loadProfiles(app.paths.profiles, app.cwd).catch(() => undefined))?.[run.tool];
  if (!profile?.progress) return undefined;
  const inputName = job.metadata?.annotations?.[annotations.input];
  const input = run.outputLocal && run.outputDir && inputName ? { path: join(run.outputDir, run.sweep ? '0' : '', inputName), kind: profile.input } : undefined;
  const container = job.spec.template.spec.containers.find((c) => c.name === 'simulation') ?? job.spec.template.spec.containers[0];
  return createProgressDisplay(app, profile.progress, { runId: run.runId, mode: 'auto', input, extraArgs: container?.command ?? [], indexes: run.sweep?.total });
}

export async function jobsLogs(app: AppContext, id: string, follow: boolean): Promise<number> {
  requireRunId(id);
  const client = await app.client();
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
      timeoutMs: app.timeoutMs(Math.min(maxTimerMs, 7 * 24 * 3600_000)),
      ...runPrinter(app, id, await followedProgress(app, run, job)),
    });
    if (outcome.state === 'Detached') {
      if (app.signal.reason === stdoutClosedReason) app.ui.info(`${stdoutClosedReason}: detached; run ${id} keeps going`);
      return ExitCode.interrupted;
    }
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
  if (pods.length === 0) app.ui.info(`Run ${id} has no pods (any more); its output is in ${run.outputDir === null ? 'its run directory' : shownOutput(app, run)}.`);
  // With -f the exit code is the run's, whether it ended before or while we followed it.
  if (follow) {
    app.ui.info(run.state === 'Succeeded' ? `run ${id} succeeded` : `run ${id} failed with exit code ${run.exitCode ?? 1}`);
    return run.exitCode ?? ExitCode.failure;
  }
  return ExitCode.ok;
}

export async function jobsCancel(app: AppContext, id: string): Promise<void> {
  requireRunId(id);
  const client = await app.client();
  const run = await findRun(client, id);
  await deleteRun(client, stackNamespace, run.job);
  app.ui.info(`Cancelled run ${id} (${run.state === 'Running' || run.state === 'Pending' ? 'it was stopped' : `it had already ${run.state.toLowerCase()}`}); outputs kept in ${run.outputDir === null ? 'its run directory' : shownOutput(app, run)}`);
}

export interface CleanOptions {
  olderThan?: string;
  failed?: boolean;
  purgeOutputs?: boolean;
  tool?: string;
  dryRun?: boolean;
}

/**
 * Deletes finished runs' Jobs (and with --purge-outputs their run directories). It names every
 * run it will delete before deleting any; --dry-run prints the same list and stops. Per run the
 * outputs go first and the Job only after them, so a run whose outputs could not be removed is
 * still listed by `keystone jobs` and can be cleaned again.
 */
export async function jobsClean(app: AppContext, options: CleanOptions): Promise<number> {
  const olderThanMs = options.olderThan !== undefined ? parseAge(options.olderThan, '--older-than') : 0;
  const client = await app.client();
  const now = Date.now();
  const runs = await listRuns(client, stackNamespace);
  if (options.tool !== undefined && !runs.some((r) => r.tool === options.tool)) {
    const tools = [...new Set(runs.map((r) => r.tool))].sort();
    app.ui.info(`No runs of ${printable(options.tool)}${tools.length ? ` (runs exist for: ${tools.join(', ')})` : ''}.`);
  }
  const finished = runs.filter(
    (r) =>
      (r.state === 'Succeeded' || r.state === 'Failed') &&
      (options.tool === undefined || r.tool === options.tool) &&
      (!options.failed || r.state === 'Failed') &&
      now - Date.parse(r.finishedAt ?? r.startedAt ?? new Date(now).toISOString()) >= olderThanMs,
  );
  if (finished.length === 0) {
    app.ui.info('Nothing to clean.');
    return ExitCode.ok;
  }
  const dataDir = resolve(app.paths.dataDir);
  // Only ever a run directory keystone made under data/<tool>/runs/ on this machine.
  const purgeable = (run: RunSummary): string | undefined => {
    if (!options.purgeOutputs || !run.outputLocal || run.outputDir === null) return undefined;
    const dir = resolve(run.outputDir);
    return dir.startsWith(`${dataDir}${sep}`) && relative(dataDir, dir).split(sep)[1] === runsFolder ? dir : undefined;
  };
  const plan = finished.map((run) => {
    const dir = purgeable(run);
    const outputs = dir
      ? `and its outputs ${relative(app.cwd, dir) || dir}`
      : options.purgeOutputs && run.outputDir !== null
        ? `(outputs not on this machine, kept: ${shownOutput(app, run)})`
        : '(outputs kept)';
    return { run, dir, line: `${run.runId} (${run.tool}, ${run.state.toLowerCase()}) ${outputs}` };
  });
  const s = finished.length === 1 ? '' : 's';
  app.ui.info(`${options.dryRun ? 'Would delete' : 'Deleting'} ${finished.length} finished run${s}:\n${plan.map((p) => `  ${p.line}`).join('\n')}`);
  if (options.dryRun) {
    app.ui.info('Dry run: nothing was deleted.');
    return ExitCode.ok;
  }
  const failures: string[] = [];
  for (const { run, dir } of plan) {
    let note = 'outputs kept';
    if (dir) {
      const shown = relative(app.cwd, dir) || dir;
      try {
        await rm(dir, { recursive: true, force: true });
      } catch (err) {
        const described = describeFsError(err, `remove ${shown}`, shown);
        const reason = described instanceof Error ? described.message : String(described);
        app.ui.warn(`kept run ${run.runId} (its Job and outputs): ${reason}`);
        failures.push(run.runId);
        continue;
      }
      note = `removed ${shown}`;
    }
    await deleteRun(client, stackNamespace, run.job);
    app.ui.info(`deleted run ${run.runId} (${run.tool}, ${run.state.toLowerCase()}); ${note}`);
  }
  const cleaned = finished.length - failures.length;
  app.ui.info(`Cleaned ${cleaned} finished run${cleaned === 1 ? '' : 's'}.`);
  if (failures.length) {
    throw new KeystoneError(`${failures.length} run${failures.length === 1 ? '' : 's'} not cleaned (outputs could not be removed): ${failures.join(', ')}`, {
      hint: 'they are kept, Job and outputs, and still listed by `keystone jobs`; fix the cause above and run the command again',
    });
  }
  return ExitCode.ok;
}
