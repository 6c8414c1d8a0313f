/** `keystone apply`: only the stack part of setup (namespace, Redis password, manifests), for any context. */
import type { AppContext } from '../app-context.js';
import { loadManifests } from '../stack/manifests.js';
import { manifestCache } from '../stack/manifest-cache.js';
import { stackSteps } from '../setup/stack-steps.js';
import { runSteps } from '../steps/run-steps.js';

export async function apply(app: AppContext, options: { wait: boolean }): Promise<void> {
  const clusterName = await app.clusterName();
  const target = app.target(clusterName);
  const manifests = await loadManifests(app.paths.manifestsDir, app.cwd, manifestCache(app));
  const steps = stackSteps(app, target, manifests, { clusterRunning: true });
  await runSteps(app.ui, options.wait ? steps : steps.filter((s) => s.title !== 'stack ready'), app.signal);
}
