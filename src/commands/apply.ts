/** `keystone apply`: only the stack part of setup (namespace, Redis password, manifests), for any context. */
import type { AppContext } from '../app-context.js';
import { loadManifests } from '../stack/manifests.js';
import { manifestCache } from '../stack/manifest-cache.js';
import { stackSteps } from '../setup/stack-steps.js';
import { runSteps } from '../steps/run-steps.js';

export async function apply(app: AppContext, options: { wait: boolean }): Promise<void> {
  await app.target(); // a config with no usable cluster name stops it before the manifests are read
  const manifests = await loadManifests(app.paths.manifestsDir, app.cwd, manifestCache(app));
  const steps = stackSteps(app, manifests, { clusterRunning: true });
  await runSteps(app.ui, options.wait ? steps : steps.filter((s) => s.title !== 'stack ready'), app.signal);
}
