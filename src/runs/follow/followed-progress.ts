/** The progress display for re-attaching to a run (`jobs logs -f`), as run-simulation shows it. */
import { join } from 'node:path';
import type { Ui } from '../../ui/ui.js';
import { annotations } from '../../vocabulary.js';
import { simulationContainer } from '../build/job.js';
import { loadProfiles } from '../request/profiles.js';
import { createProgressDisplay } from './display.js';
import type { JobObject } from '../../kube/objects.js';
import type { RunSummary } from '../model.js';

/**
 * The progress line for a followed run, as run-simulation shows it. The total is read from the
 * staged input when it is on this machine (a run on another cluster shows the current value
 * without a percent); the Job's command holds the extra arguments (`-var steps N`).
 */
export async function followedRunProgress(
  ctx: { ui: Ui; profilesFile: string; cwd: string },
  run: RunSummary,
  job: JobObject,
) {
  // Progress is an extra: a profiles.yaml that no longer loads must not stop the logs.
  const profile = (await loadProfiles(ctx.profilesFile, ctx.cwd).catch(() => undefined))?.[run.tool];
  if (!profile?.progress) return undefined;
  const inputName = job.metadata?.annotations?.[annotations.input];
  const input =
    run.outputLocal && run.outputDir && inputName
      ? { path: join(run.outputDir, run.sweep ? '0' : '', inputName), kind: profile.input }
      : undefined;
  const container = simulationContainer(job.spec.template.spec.containers);
  return createProgressDisplay(ctx.ui, profile.progress, {
    runId: run.runId,
    mode: 'auto',
    input,
    extraArgs: container?.command ?? [],
    indexes: run.sweep?.total,
  });
}
