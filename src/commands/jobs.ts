/** `keystone jobs` subcommands: logs, cancel, clean — scancel and friends (the listing, squeue, is jobs-list.ts). */
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { AppContext } from '../app-context.js';
import { ExitCode, InterruptedError, KeystoneError, stdoutClosedReason, UsageError } from '../errors.js';
import { maxTimerMs, parseAge } from '../duration.js';
import { describeFsError } from '../fs-errors.js';
import { followLogs } from '../operate/follow-logs.js';
import { printable } from '../operate/names.js';
import { deleteRun, getRunObject, listRuns, summarizeRun } from '../runs/catalog/list.js';
import { alreadyEnded, RunGoneError, suspendRun } from '../runs/catalog/cancel.js';
import type { KubeClient } from '../kube/client.js';
import {
  runKind,
  runPodSelector,
  type RunSummary,
  cancelledReason,
  podIndex,
  volumeRunDir,
  hostRunDir,
} from '../runs/model.js';
import { loadProfiles } from '../runs/request/profiles.js';
import { findRun, requireRunId } from '../runs/catalog/lookup.js';
import { purgeableRunDir, removeRun, selectFinishedRuns } from '../runs/catalog/clean.js';
import { followedRunProgress } from '../runs/follow/followed-progress.js';
import { followRun } from '../runs/follow/follow.js';
import { runLine, runPrinter } from '../runs/follow/output.js';
import { printLogLines } from '../ui/line-writer.js';
import { purgeVolumeRun } from '../runs/storage/outputs.js';
import { shownOutput } from './jobs-list.js';
import { sharedClaimName } from '../runs/storage/claim.js';
import { stackNamespace } from '../vocabulary.js';

export async function jobsLogs(app: AppContext, id: string, follow: boolean): Promise<number> {
  requireRunId(id);
  const client = await app.client();
  const run = await findRun(client, stackNamespace, id);
  app.ui.announceInterrupt = false;
  const indexed = Boolean(run.sweep);
  if (follow && (run.state === 'Running' || run.state === 'Pending')) {
    const job = await getRunObject(client, stackNamespace, run, runKind(run));
    const outcome = await followRun(client, job, {
      namespace: stackNamespace,
      runId: id,
      indexed,
      kind: runKind(run),
      signal: app.signal,
      localImages: [],
      timeoutMs: app.timeoutMs(Math.min(maxTimerMs, 7 * 24 * 3600_000)),
      ...runPrinter(
        app.ui,
        id,
        await followedRunProgress({ ui: app.ui, profilesFile: app.paths.profiles, cwd: app.cwd }, run, job),
      ),
    });
    if (outcome.state === 'Detached') {
      if (app.signal.reason === stdoutClosedReason)
        app.ui.info(`${stdoutClosedReason}: detached; run ${id} keeps going`);
      return ExitCode.interrupted;
    }
    app.ui.info(
      outcome.state === 'Succeeded' ? `run ${id} succeeded` : `run ${id} failed with exit code ${outcome.exitCode}`,
    );
    return outcome.exitCode;
  }
  const selector = runPodSelector(id, runKind(run));
  const pods = (await client.list(`/api/v1/namespaces/${stackNamespace}/pods`, { labelSelector: selector })).items;
  await printLogLines(
    app.ui,
    (prefix, _key, text) => runLine(app.ui, prefix, text),
    (sink) =>
      followLogs(
        client,
        { kind: 'simulation', name: run.job, selector },
        pods,
        {
          follow: false,
          timestamps: false,
          previous: false,
          namespace: stackNamespace,
          prefix: indexed ? (pod) => `${podIndex(pod)}` : () => undefined,
        },
        sink,
        app.signal,
      ),
  );
  if (pods.length === 0)
    app.ui.info(
      `Run ${id} has no pods (any more); its output is in ${run.outputDir === null ? 'its run directory' : shownOutput(app, run)}.`,
    );
  // With -f the exit code is the run's, whether it ended before or while we followed it.
  if (follow) {
    app.ui.info(
      run.state === 'Succeeded' ? `run ${id} succeeded` : `run ${id} failed with exit code ${run.exitCode ?? 1}`,
    );
    return run.exitCode ?? ExitCode.failure;
  }
  return ExitCode.ok;
}

/**
 * Cancelling is idempotent, on either kind of cluster: a run that is not running (it ended, it was
 * cancelled, its Job is gone but its run directory is here) is "nothing to stop", exit 0, as
 * `kubectl delete --ignore-not-found` treats an object already gone, so a script's cleanup may
 * cancel twice. An id that names no run at all (not in the cluster, no run directory here) stays
 * an error, as `kubectl delete` of a missing name is without that flag (kubernetes/kubectl
 * pkg/cmd/delete/delete.go, DeleteResult: NotFound is ignored only with IgnoreNotFound): a
 * mistyped id must not pass for a cancelled run. A finished run is never deleted by cancel (that
 * is `jobs clean`'s work): it stays listed with how it ended.
 */
export async function jobsCancel(app: AppContext, id: string): Promise<void> {
  requireRunId(id);
  const client = await app.client();
  let run: RunSummary;
  try {
    run = await findRun(client, stackNamespace, id);
  } catch (err) {
    const dir = await runDirectoryHere(app, id);
    if (dir === undefined) throw err;
    app.ui.info(
      `Run ${id} is no longer in the cluster (cancelled or cleaned before): nothing to stop, nothing deleted; its run directory ${dir} is kept`,
    );
    return;
  }
  if (run.outputVolume) return cancelVolumeRun(app, client, run);
  const kept = `outputs kept in ${run.outputDir === null ? 'its run directory' : shownOutput(app, run)}`;
  if (run.state !== 'Running' && run.state !== 'Pending') {
    app.ui.info(
      `Run ${id} ${alreadyEnded(run)}: nothing to stop, nothing deleted; ${kept}; \`keystone jobs clean\` removes it`,
    );
    return;
  }
  await deleteRun(client, stackNamespace, run.job, runKind(run));
  app.ui.info(`Cancelled run ${id} (it was stopped); ${kept}`);
}

/** The run's directory under data/<tool>/runs/ on this machine, shown relative to the working directory; undefined when there is none. */
async function runDirectoryHere(app: AppContext, id: string): Promise<string | undefined> {
  const tools = Object.keys(await loadProfiles(app.paths.profiles, app.cwd));
  for (const tool of tools) {
    const dir = hostRunDir(app.paths.dataDir, tool, id);
    if ((await stat(dir).catch(() => undefined))?.isDirectory()) return relative(app.cwd, dir) || dir;
  }
  return undefined;
}

/**
 * A run on another cluster's volume is found, and its outputs fetched, through its Job (or
 * MPIJob): cancelling suspends it and keeps it (runs/catalog/cancel.ts), as scancel keeps the
 * record; a finished run is left as it is. `jobs clean` removes either.
 */
async function cancelVolumeRun(app: AppContext, client: KubeClient, run: RunSummary): Promise<void> {
  const id = run.runId;
  const kept = `it stays listed so that \`keystone jobs fetch ${id}\` can still get its outputs (${shownOutput(app, run)}); \`keystone jobs clean\` removes it`;
  if (run.state === 'Succeeded' || run.state === 'Failed') {
    app.ui.info(`Run ${id} ${alreadyEnded(run)}: nothing to stop, nothing deleted; ${kept}`);
    return;
  }
  let suspended: Awaited<ReturnType<typeof suspendRun>>;
  try {
    suspended = await suspendRun(client, stackNamespace, run.job, runKind(run));
  } catch (err) {
    if (!(err instanceof RunGoneError)) throw err;
    app.ui.warn(orphanedOnVolume(run));
    throw new KeystoneError(`run ${id} is gone: ${err.message}`, { hint: err.hint });
  }
  const after = summarizeRun(suspended, []);
  // It may have ended between the listing and the patch: its Complete/Failed condition wins.
  app.ui.info(
    after.reason === cancelledReason
      ? `Cancelled run ${id} (it was stopped); ${kept}`
      : `Run ${id} ${alreadyEnded(after)}; ${kept}`,
  );
}

/**
 * keystone finds a run's outputs on another cluster's volume through the run's Job: once `jobs
 * clean` deletes it without --purge-outputs, they stay on the volume where no keystone command reaches them.
 */
function orphanedOnVolume(run: RunSummary): string {
  const own = run.outputVolume !== sharedClaimName;
  return `run ${run.runId}'s outputs stay on volume ${run.outputVolume} (${volumeRunDir(run.tool, run.runId)}), which keystone no longer lists now that the run is gone: fetch a run (\`keystone jobs fetch <run-id>\`) before cleaning it; ${own ? `free the space with \`kubectl delete pvc ${run.outputVolume} -n ${stackNamespace}\`` : '`jobs clean --purge-outputs` deletes the outputs with the run'}`;
}

export interface CleanOptions {
  olderThan?: string;
  failed?: boolean;
  purgeOutputs?: boolean;
  tool?: string;
  dryRun?: boolean;
  /** Run directories without a run instead of finished runs (commands/jobs-orphans.ts). */
  orphans?: boolean;
}

/**
 * Deletes finished runs' Jobs (and with --purge-outputs their run directories). It names every
 * run it will delete before deleting any; --dry-run prints the same list and stops. Per run the
 * outputs go first and the Job only after them, so a run whose outputs could not be removed is
 * still listed by `keystone jobs` and can be cleaned again.
 */
export async function jobsClean(app: AppContext, options: CleanOptions): Promise<number> {
  if (options.orphans) {
    if (options.failed)
      throw new UsageError(
        '--failed does not go with --orphans',
        'a run directory without a run has no state to filter on',
      );
    const { cleanOrphans } = await import('./jobs-orphans.js');
    return cleanOrphans(app, { tool: options.tool, olderThan: options.olderThan, dryRun: options.dryRun });
  }
  const olderThanMs = options.olderThan !== undefined ? parseAge(options.olderThan, '--older-than') : 0;
  const client = await app.client();
  const runs = await listRuns(client, stackNamespace);
  if (options.tool !== undefined && !runs.some((r) => r.tool === options.tool)) {
    const tools = [...new Set(runs.map((r) => r.tool))].sort();
    app.ui.info(
      `No runs of ${printable(options.tool)}${tools.length ? ` (runs exist for: ${tools.join(', ')})` : ''}.`,
    );
  }
  const finished = selectFinishedRuns(runs, { olderThanMs, failed: options.failed, tool: options.tool });
  if (finished.length === 0) {
    app.ui.info('Nothing to clean.');
    return ExitCode.ok;
  }
  const data = app.data();
  const plan = [];
  for (const run of finished) {
    // Only ever a run directory keystone made under data/<tool>/runs/ on this machine.
    const dir = options.purgeOutputs ? purgeableRunDir(run, app.paths.dataDir) : undefined;
    // Another cluster's run volume: removed through the cluster (runs/storage/outputs.ts).
    const onVolume = Boolean(options.purgeOutputs && run.outputVolume);
    // A directory already gone is said to be, never listed as removed (nor as to be removed); one
    // that cannot be looked at (a link leaving data/) is refused per run below, as before.
    const gone = dir !== undefined && !(await data.exists(dir).catch(() => true));
    const outputs = dir
      ? gone
        ? `(its directory ${relative(app.cwd, dir) || dir} was already gone)`
        : `and its outputs ${relative(app.cwd, dir) || dir}`
      : onVolume
        ? `and its outputs on ${shownOutput(app, run)}`
        : options.purgeOutputs && run.outputDir !== null
          ? `(outputs not on this machine, kept: ${shownOutput(app, run)})`
          : '(outputs kept)';
    plan.push({ run, dir, onVolume, line: `${run.runId} (${run.tool}, ${run.state.toLowerCase()}) ${outputs}` });
  }
  const s = finished.length === 1 ? '' : 's';
  app.ui.info(
    `${options.dryRun ? 'Would delete' : 'Deleting'} ${finished.length} finished run${s}:\n${plan.map((p) => `  ${p.line}`).join('\n')}`,
  );
  if (options.dryRun) {
    app.ui.info('Dry run: nothing was deleted.');
    return ExitCode.ok;
  }
  // Outputs cannot be brought back: asked on a terminal (--yes skips it; scripts act as before).
  if (
    options.purgeOutputs &&
    !(await app.confirm(
      `Delete ${finished.length === 1 ? 'this run and its outputs' : `these ${finished.length} runs and their outputs`}?`,
    ))
  ) {
    throw new KeystoneError('nothing was deleted (not confirmed)', { hint: '`--yes` deletes without asking' });
  }
  const failures: string[] = [];
  const deleted: string[] = [];
  for (const [i, { run, dir, onVolume }] of plan.entries()) {
    // Ctrl-C: the run in hand was finished; the rest are kept, and the message says which.
    if (app.signal.aborted)
      throw interruptedClean(
        deleted,
        plan.slice(i).map((p) => p.run.runId),
        failures,
      );
    const shown = dir ? relative(app.cwd, dir) || dir : onVolume ? shownOutput(app, run) : undefined;
    const { kept, missing } = await removeRun(
      client,
      stackNamespace,
      run,
      dir ? { data, path: dir } : undefined,
      onVolume ? () => purgeVolumeRun(client, stackNamespace, run, app.signal) : undefined,
    );
    if (kept !== undefined) {
      if (kept instanceof InterruptedError)
        throw interruptedClean(
          deleted,
          plan.slice(i).map((p) => p.run.runId),
          failures,
        );
      const described = dir ? describeFsError(kept, `remove ${shown}`, shown!) : kept;
      const reason = described instanceof Error ? described.message : String(described);
      app.ui.warn(`kept run ${run.runId} (its Job and outputs): ${reason}`);
      failures.push(run.runId);
      continue;
    }
    const note = shown ? (missing ? `its directory ${shown} was already gone` : `removed ${shown}`) : 'outputs kept';
    app.ui.info(`deleted run ${run.runId} (${run.tool}, ${run.state.toLowerCase()}); ${note}`);
    deleted.push(run.runId);
    if (!shown && run.outputVolume) app.ui.warn(orphanedOnVolume(run));
  }
  const cleaned = finished.length - failures.length;
  app.ui.info(`Cleaned ${cleaned} finished run${cleaned === 1 ? '' : 's'}.`);
  if (failures.length) {
    throw new KeystoneError(
      `${failures.length} run${failures.length === 1 ? '' : 's'} not cleaned (outputs could not be removed): ${failures.join(', ')}`,
      {
        hint: 'they are kept, Job and outputs, and still listed by `keystone jobs`; fix the cause above and run the command again',
      },
    );
  }
  return ExitCode.ok;
}

/** `jobs clean` stopped by Ctrl-C: which runs were deleted, and which were not (still listed). */
function interruptedClean(deleted: string[], notDeleted: string[], failed: string[]): InterruptedError {
  const list = (ids: string[]) => (ids.length ? ids.join(', ') : 'none');
  return new InterruptedError(
    `interrupted: deleted ${deleted.length} run${deleted.length === 1 ? '' : 's'} (${list(deleted)}); not deleted: ${list([...failed, ...notDeleted])}`,
    'the runs not deleted are still listed by `keystone jobs`, outputs and all; run the command again to delete them',
  );
}
