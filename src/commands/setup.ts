/** `keystone setup`: bring the whole stack up; a second run changes nothing. */
import type { AppContext } from '../app-context.js';
import { runSteps, type Step, type StepRecord } from '../steps/run-steps.js';
import {
  clusterStep,
  dataDirectoriesStep,
  kubeconfigStep,
  nodesReadyStep,
  prerequisiteSteps,
} from '../setup/cluster-steps.js';
import { formatDuration } from '../ui/ui.js';
import { loadManifests } from '../stack/manifests.js';
import { manifestCache } from '../stack/manifest-cache.js';
import { imagesStep, stackSteps, type SetupState } from '../setup/stack-steps.js';
import { hostPortFor, type ClusterConfig } from '../cluster/config.js';
import type { KubeTarget } from '../kube/target.js';
import { preflightStep } from '../setup/preflight.js';
import { describeRegistry, registryAddresses } from '../cluster/registry.js';
import { stackNamespace } from '../vocabulary.js';

export async function setup(app: AppContext): Promise<StepRecord[]> {
  const loaded = await app.clusterConfig();
  const target = await app.target();
  // Every manifest is validated before anything is done, so a bad one never leaves a half-made stack.
  const manifests = await loadManifests(app.paths.manifestsDir, app.cwd, manifestCache(app));
  const state: SetupState = { clusterRunning: !target.local };
  const steps: Step[] = [];
  if (target.local) {
    steps.push(
      ...prerequisiteSteps(app),
      // Everything setup needs from the machine, checked before anything is created.
      preflightStep(app, loaded),
      dataDirectoriesStep(app, loaded),
      clusterStep(app, loaded, state),
      await kubeconfigStep(app, state),
      nodesReadyStep(app, loaded.config.servers + loaded.config.agents),
      imagesStep(app, state),
    );
  } else {
    // Another cluster (--context): keystone does not create or start it, only uses it.
    app.ui.info(
      `Using context "${target.context}": the k3d and image steps are skipped; the locally built images are not put into that cluster (push them to a registry it can reach).`,
    );
    steps.push(nodesReadyStep(app, undefined));
  }
  steps.push(...stackSteps(app, manifests, state));
  const records = await app.exclusive(target.local ? target.clusterName : `context-${target.context}`, 'setup', () =>
    runSteps(app.ui, steps, app.signal),
  );
  const done = records.filter((r) => r.outcome === 'done');
  const skipped = records.filter((r) => r.outcome === 'skipped');
  const timings = done
    .filter((r) => r.ms >= 50)
    .map((r) => `${r.title} ${formatDuration(r.ms)}`)
    .join(', ');
  if (app.options.dryRun) {
    app.ui.info('Dry run: nothing was changed.');
    return records;
  }
  app.ui.info(
    `Setup complete: ${done.length} step${done.length === 1 ? '' : 's'} done${skipped.length ? `, ${skipped.length} already satisfied (${skipped.map((r) => r.title).join(', ')})` : ''}${timings ? `; ${timings}` : ''}.`,
  );
  app.ui.info(endpoints(loaded.config, target));
  return records;
}

/** Where to reach what setup brought up, and what to try next. */
function endpoints(config: ClusterConfig, target: KubeTarget): string {
  const ctx = `--context ${target.context}`;
  const lines: string[] = [];
  if (target.local) {
    const http = hostPortFor(config, 80);
    const https = hostPortFor(config, 443);
    const redis = hostPortFor(config, 6379);
    const registry = registryAddresses(config);
    if (http || https)
      lines.push(
        `  ingress    ${[http && `http://localhost:${http}`, https && `https://localhost:${https}`].filter(Boolean).join('  ')}`,
      );
    if (redis)
      lines.push(
        `  redis      localhost:${redis}  (password: kubectl ${ctx} -n ${stackNamespace} get secret redis-auth -o jsonpath='{.data.password}' | base64 -d)`,
      );
    if (registry) lines.push(...describeRegistry(registry).map((l) => `  ${l}`));
  }
  lines.push(`  kubectl    kubectl ${ctx} get pods -n ${stackNamespace}`);
  lines.push('Next: keystone status   keystone run-simulation lammps in.lj   keystone logs celery-worker -f');
  return lines.join('\n');
}
