/** `keystone import-images [IMAGE...]`. */
import type { AppContext } from '../app-context.js';
import { KeystoneError } from '../errors.js';
import { importImages } from '../images/import-images.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { findK3d } from '../cluster/prerequisites.js';
import { ToolMissingError } from '../exec/runner.js';
import { runSteps } from '../steps/run-steps.js';

export async function importImagesCommand(
  app: AppContext,
  only: string[],
  options: { build: boolean; force: boolean },
): Promise<void> {
  const { config } = await app.clusterConfig();
  const target = await app.target();
  if (target.local) {
    if (!(await findK3d(app.runner, app.env))) throw new ToolMissingError('k3d');
    const cluster = await k3dFindCluster(app.runner, config.metadata.name);
    if (!cluster || cluster.serversRunning === 0) {
      throw new KeystoneError(`cluster "${config.metadata.name}" is not running`, {
        hint: 'run `keystone setup` (or `keystone start`) first',
      });
    }
  }
  await runSteps(
    app.ui,
    [
      {
        title: 'import images',
        run: async (progress) => {
          const outcome = await importImages(app, { ...options, only, onProgress: (t) => progress.update(t) });
          return outcome.summary;
        },
      },
    ],
    app.signal,
  );
}
