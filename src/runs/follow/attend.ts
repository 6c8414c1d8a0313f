/**
 * Staying with a submitted run until it ends, as `sbatch --wait` would with its output shown:
 * its state and output on the terminal, Ctrl-C (or a closed stdout) detaching or cancelling it,
 * a sweep's table, and the run's own exit code at the end.
 */
import type { GuardedDir } from '../../guarded-fs.js';
import type { Ui } from '../../ui/ui.js';
import { ExitCode, InterruptedError, KeystoneError, stdoutClosedReason } from '../../errors.js';
import { maxTimerMs } from '../../duration.js';
import { localImageNames } from '../../images/images.js';
import { formatDuration } from '../../ui/ui.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { deleteRun, getRunObject, summarizeRun } from '../catalog/list.js';
import { alreadyEnded, RunGoneError, suspendRun } from '../catalog/cancel.js';
import { followRun, RunCannotStartError } from './follow.js';
import { runPrinter } from './output.js';
import { createProgressDisplay } from './display.js';
import type { SubmittedRun } from '../submit.js';
import type { RunRequest } from '../request/request.js';
import { cancelledReason, type RunSummary } from '../model.js';
import { recordEnd, runInCluster, writtenRecordSha256 } from '../record/store.js';

/** How long a followed run is waited for: its own deadline and five minutes, else a week. */
const followLimitMs = (deadlineSeconds: number | undefined) =>
  Math.min(maxTimerMs, deadlineSeconds !== undefined ? deadlineSeconds * 1000 + 5 * 60_000 : 7 * 24 * 3600_000);

/** What attending a run needs from the command: the terminal, Ctrl-C, and the images keystone builds. */
export interface AttendContext {
  ui: Ui;
  signal: AbortSignal;
  /** images/compose.yaml: an image in it that cannot be pulled gets the "import it" hint. */
  composeFile: string;
  /** data/, guarded: the run's end goes into its record file through it. */
  data: GuardedDir;
}

export async function attendRun(
  ctx: AttendContext,
  client: KubeClient,
  run: SubmittedRun,
  req: RunRequest,
  started: number,
): Promise<number> {
  const { runId, name, namespace } = run;
  const shown = run.storage.shown;
  ctx.ui.announceInterrupt = false;
  const c = ctx.ui.errColor; // for messages on stderr
  const localImages = await localImageNames(ctx.composeFile);
  const progress = await createProgressDisplay(ctx.ui, req.profile.progress, {
    runId,
    mode: req.progressMode,
    input: req.input,
    extraArgs: req.extraArgs,
    indexes: req.sweep?.combinations.length,
  });
  let outcome;
  try {
    outcome = await followRun(client, run.created, {
      namespace,
      runId,
      indexed: Boolean(req.sweep),
      kind: run.kind,
      signal: ctx.signal,
      localImages,
      timeoutMs: followLimitMs(req.deadlineSeconds),
      ...runPrinter(ctx.ui, runId, progress),
    });
  } catch (err) {
    progress?.end();
    if (err instanceof RunCannotStartError) {
      await deleteRun(client, namespace, name, run.kind);
      // Its directory on this machine (the staged input) stays: say where, and what removes it.
      const kept =
        run.storage.outputOn === 'host'
          ? `; its run directory ${shown} stays (\`keystone jobs clean --orphans\` removes it)`
          : '';
      throw new KeystoneError(`${err.message}; the run was cancelled (nothing ran)${kept}`, { hint: err.hint });
    }
    throw err;
  }
  progress?.end();

  if (outcome.state === 'Detached') {
    // Ctrl-C may come after the run ended (it ended while keystone was still reading its last
    // lines): a finished run is never cancelled, and is not said to keep going. So the run is
    // read first, and when that read fails (or takes longer than Ctrl-C's grace) nothing is
    // cancelled: not knowing is no licence to cancel.
    const now = await runNow(client, run);
    if (now.state === 'ended') {
      const ended = now.summary;
      ctx.ui.info(
        `Run ${runId} ${alreadyEnded(ended)}${ended.exitCode !== undefined ? ` (exit code ${ended.exitCode})` : ''}; nothing was cancelled. Output: ${shown}`,
      );
      return ExitCode.interrupted;
    }
    if (now.state === 'unreadable') {
      ctx.ui.warn(
        `could not read run ${runId}'s state (${now.reason}); not cancelled, see \`keystone jobs\` (re-attach: keystone jobs logs ${runId} -f; cancel: keystone jobs cancel ${runId})`,
      );
      return ExitCode.interrupted;
    }
    if (now.state === 'gone') {
      ctx.ui.warn(
        `run ${runId} is gone (its ${run.kind} ${name} was deleted meanwhile); nothing was cancelled; its output so far stays in ${shown}`,
      );
      return ExitCode.interrupted;
    }
    if (req.cancelOnInterrupt && run.storage.outputOn === 'volume') {
      // As `jobs cancel` does: suspended and kept, so `jobs fetch` still finds its outputs (catalog/cancel.ts).
      let what: string;
      try {
        const after = summarizeRun(await suspendRun(client, namespace, name, run.kind), []);
        // It may have ended just before (its Complete/Failed condition wins): say so, not "cancelled".
        what = after.reason === cancelledReason ? `Cancelled run ${runId}` : `Run ${runId} ${alreadyEnded(after)}`;
      } catch (err) {
        if (!(err instanceof RunGoneError)) throw err;
        ctx.ui.warn(
          `run ${runId} is gone (${err.message}); its output so far stays in ${shown}, which keystone no longer lists`,
        );
        return ExitCode.interrupted;
      }
      ctx.ui.info(
        `${what}; it stays listed so that \`keystone jobs fetch ${runId}\` can still get its output so far: ${shown}`,
      );
    } else if (req.cancelOnInterrupt) {
      await deleteRun(client, namespace, name, run.kind);
      ctx.ui.info(`Cancelled run ${runId}; its output so far stays in ${shown}`);
    } else {
      ctx.ui.info(
        `${ctx.signal.reason === stdoutClosedReason ? `${stdoutClosedReason}: ` : ''}Detached; run ${runId} keeps going. Re-attach: keystone jobs logs ${runId} -f    Cancel: keystone jobs cancel ${runId}`,
      );
    }
    return ExitCode.interrupted;
  }
  // The run's end goes into its record on this machine (the cluster's copy is read live).
  if (run.recordFile) {
    const file = run.recordFile;
    const written = { path: file, record: run.record, sha256: writtenRecordSha256(run.record) };
    await runInCluster(client, namespace, runId)
      .then((now) => (now ? recordEnd(ctx.data, written, now.outcome) : undefined))
      .catch((err: unknown) =>
        ctx.ui.warn(
          `could not write the run's end into ${file}: ${(err as Error).message}; \`keystone jobs show ${runId}\` writes it later`,
        ),
      );
  }
  if (req.sweep) {
    const combos = req.sweep.combinations;
    const rows = outcome.indexes.map((i) => [
      String(i.index),
      Object.entries(combos[i.index] ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      i.state,
      i.exitCode === undefined ? '-' : String(i.exitCode),
    ]);
    const { renderTable } = await import('../../ui/table.js');
    ctx.ui.info(renderTable(['INDEX', 'VALUES', 'STATE', 'EXIT'], rows));
  }
  const took = formatDuration(Date.now() - started);
  if (outcome.state === 'Succeeded') {
    ctx.ui.info(`${c.green('✓')} run ${runId} succeeded in ${took}; output: ${shown}`);
    return ExitCode.ok;
  }
  ctx.ui.error(
    `run ${runId} failed${outcome.reason ? ` (${outcome.reason})` : ''} with exit code ${outcome.exitCode}${outcome.message ? `: ${outcome.message}` : ''}; output: ${shown}`,
    `see the whole log: keystone jobs logs ${runId}`,
  );
  return outcome.exitCode;
}

/** What the run is now: ended (how), still going, gone (404), or unreadable (and why). */
type RunNow =
  | { state: 'ended'; summary: RunSummary }
  | { state: 'going' }
  | { state: 'gone' }
  | { state: 'unreadable'; reason: string };

/** The run's state now, read after Ctrl-C (a cleanup read: it gets the grace Ctrl-C gives cleanups). */
async function runNow(client: KubeClient, run: SubmittedRun): Promise<RunNow> {
  let summary: RunSummary;
  try {
    summary = summarizeRun(
      await getRunObject(client, run.namespace, { job: run.name }, run.kind, { cleanup: true }),
      [],
    );
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return { state: 'gone' };
    // Aborted when the grace after Ctrl-C ran out: the request was still unanswered.
    const reason =
      err instanceof InterruptedError ? 'no answer from the API in time after Ctrl-C' : (err as Error).message;
    return { state: 'unreadable', reason };
  }
  return summary.state === 'Succeeded' || summary.state === 'Failed' ? { state: 'ended', summary } : { state: 'going' };
}
