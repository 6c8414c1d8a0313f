/** `keystone setup`: bring the whole stack up; a second run changes nothing. */
import type { AppContext } from '../app-context.js';
import { runSteps, type Step, type StepRecord } from '../steps/run-steps.js';
import { clusterStep, dataDirectoriesStep, nodesReadyStep, prerequisiteSteps } from '../setup/cluster-steps.js';
import { formatDuration } from '../ui/ui.js';
import { loadManifests } from '../stack/manifests.js';
import { imagesStep, stackSteps, type SetupState } from '../setup/stack-steps.js';

export async function setup(app: AppContext): Promise<StepRecord[]> {
  const loaded = await app.clusterConfig();
  const target = app.target(loaded.config.metadata.name);
  // Every manifest is validated before anything is done, so a bad one never leaves a half-made stack.
  const manifests = await loadManifests(app.paths.manifestsDir, app.cwd);
  const state: SetupState = { clusterRunning: !target.local };
  const steps: Step[] = [];
  if (target.local) {
    steps.push(
      ...prerequisiteSteps(app),
      dataDirectoriesStep(app, loaded),
      clusterStep(app, loaded, state),
      nodesReadyStep(app, target, loaded.config.servers + loaded.config.agents),
      imagesStep(app, target, state),
    );
  } else {
    // Another cluster (--context): keystone does not create or start it, only uses it.
    app.ui.info(`Using context "${target.context}": the k3d and image steps are skipped.`);
    steps.push(nodesReadyStep(app, target, undefined));
  }
  steps.push(...stackSteps(app, target, manifests, state));
  const records = await runSteps(app.ui, steps, app.signal);
  const done = records.filter((r) => r.outcome === 'done');
  const skipped = records.filter((r) => r.outcome === 'skipped');
  const timings = done.map((r) => `${r.title} ${formatDuration(r.ms)}`).join(', ');
  app.ui.info(
    app.options.dryRun
      ? 'Dry run: nothing was changed.'
      : `Setup complete: ${done.length} step${done.length === 1 ? '' : 's'} done${skipped.length ? `, ${skipped.length} already satisfied` : ''}${timings ? ` (${timings})` : ''}.`,
  );
  if (!app.options.dryRun) {
    app.ui.info(`Next: \`keystone status\`, or \`kubectl --context ${target.context} get nodes\``);
  }
  return records;
}
