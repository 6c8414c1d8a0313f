/** `keystone scale <deployment> <replicas>` and `keystone restart <deployment|all>`. */
import type { AppContext } from '../app-context.js';
import { requireLabelName } from '../operate/names.js';
import { parseReplicas, restartDeployments, scaleDeployment, waitForDeployments } from '../operate/rollouts.js';
import { listDeployments, noDeployment } from '../operate/stack-objects.js';
import { localImageNames } from '../images/images.js';
import { runSteps } from '../steps/run-steps.js';

const defaultWaitMs = 5 * 60_000;

export async function scale(app: AppContext, name: string, replicasText: string): Promise<void> {
  requireLabelName(name, 'deployment');
  const replicas = parseReplicas(replicasText);
  const client = await app.client();
  if (app.options.dryRun) {
    const all = await listDeployments(client);
    const current = all.find((d) => d.metadata?.name === name);
    if (!current) throw noDeployment(name, all, client.target);
    app.ui.info(
      `would scale ${name} from ${current.spec?.replicas ?? 1} to ${replicas} replica${replicas === 1 ? '' : 's'} and wait for the pods; dry run: nothing was changed`,
    );
    return;
  }
  await runSteps(
    app.ui,
    [
      {
        title: `scale ${name} to ${replicas}`,
        run: async (progress) => {
          const deployments = await scaleDeployment(client, name, replicas);
          const target = deployments.filter((d) => d.metadata?.name === name);
          await waitForDeployments(client, target, {
            timeoutMs: app.timeoutMs(defaultWaitMs),
            onProgress: (t) => progress.update(t),
            signal: app.signal,
            localImages: await localImageNames(app.paths.composeFile),
          });
          return `${name} scaled to ${replicas} (${replicas}/${replicas} ready)`;
        },
      },
    ],
    app.signal,
  );
}

export async function restart(app: AppContext, name: string): Promise<void> {
  if (name !== 'all') requireLabelName(name, 'deployment');
  const client = await app.client();
  const all = await listDeployments(client);
  const chosen = name === 'all' ? all : all.filter((d) => d.metadata?.name === name);
  if (chosen.length === 0) throw noDeployment(name, all, client.target);
  const names = chosen.map((d) => d.metadata?.name ?? '');
  if (app.options.dryRun) {
    app.ui.info(
      `would restart ${names.join(', ')} (new pods, as \`kubectl rollout restart\`) and wait for them; dry run: nothing was changed`,
    );
    return;
  }
  await runSteps(
    app.ui,
    [
      {
        title: `restart ${names.join(', ')}`,
        run: async (progress) => {
          await restartDeployments(client, names);
          // Re-read: the restart bumped each generation, which the rollout wait must see observed.
          const restarted = (await listDeployments(client)).filter((d) => names.includes(d.metadata?.name ?? ''));
          await waitForDeployments(client, restarted, {
            timeoutMs: app.timeoutMs(defaultWaitMs),
            onProgress: (t) => progress.update(t),
            signal: app.signal,
            localImages: await localImageNames(app.paths.composeFile),
          });
          return `restarted ${names.join(', ')}: new pods ready`;
        },
      },
    ],
    app.signal,
  );
}
