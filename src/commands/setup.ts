/** `keystone setup`: bring the whole stack up; a second run changes nothing. */
import type { AppContext } from '../app-context.js';
import { runSteps, type Step, type StepRecord } from '../steps/run-steps.js';
import { clusterStep, dataDirectoriesStep, nodesReadyStep, prerequisiteSteps } from '../setup/cluster-steps.js';
import { formatDuration } from '../ui/ui.js';

export async function setup(app: AppContext): Promise<StepRecord[]> {
  const loaded = await app.clusterConfig();
  const target = app.target(loaded.config.metadata.name);
  const steps: Step[] = [];
  if (target.local) {
    steps.push(
      ...prerequisiteSteps(app),
      dataDirectoriesStep(app, loaded),
      clusterStep(app, loaded),
      nodesReadyStep(app, target, loaded.config.servers + loaded.config.agents),
    );
  } else {
    // Another cluster (--context): keystone does not create or start it, only uses it.
    app.ui.info(`Using context "${target.context}": the k3d steps are skipped.`);
    steps.push(nodesReadyStep(app, target, undefined));
  }
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
