/** `keystone start`, `stop` and `delete`: the k3d cluster's lifecycle. */
import type { AppContext } from '../app-context.js';
import { KeystoneError, UsageError } from '../errors.js';
import { findK3d } from '../cluster/prerequisites.js';
import { observeCluster, type ClusterState } from '../cluster/state.js';
import { k3dClusterDelete, k3dClusterStart, k3dClusterStop, k3dFindCluster } from '../tools/k3d.js';
import { runSteps } from '../steps/run-steps.js';
import { defaultSetupTimeoutMs, kubeconfigCleanupStep, kubeconfigStep, nodesReadyStep } from '../setup/cluster-steps.js';
import { ToolMissingError } from '../exec/runner.js';

async function localCluster(app: AppContext, verb: string): Promise<{ name: string; state: ClusterState }> {
  const { config } = await app.clusterConfig();
  const name = config.metadata.name;
  const target = app.target(name);
  if (!target.local) {
    throw new UsageError(
      `\`keystone ${verb}\` manages the k3d cluster "${name}"; context "${target.context}" is not it`,
      `drop --context to act on ${name}; keystone does not ${verb} clusters it did not create`,
    );
  }
  if (!(await findK3d(app.runner, app.env))) throw new ToolMissingError('k3d');
  return { name, state: observeCluster(name, await k3dFindCluster(app.runner, name)) };
}

function noCluster(name: string): KeystoneError {
  return new KeystoneError(`cluster "${name}" does not exist`, { hint: 'create it with `keystone setup`' });
}

export async function start(app: AppContext): Promise<void> {
  await app.exclusive(await app.clusterName(), 'start', () => startLocked(app));
}

async function startLocked(app: AppContext): Promise<void> {
  const { name, state } = await localCluster(app, 'start');
  if (state.phase === 'absent') throw noCluster(name);
  const { config } = await app.clusterConfig();
  const timeoutMs = app.timeoutMs(defaultSetupTimeoutMs);
  await runSteps(
    app.ui,
    [
      {
        title: `start cluster ${name}`,
        satisfied: async () => (state.phase === 'running' ? 'already running' : undefined),
        run: async () => {
          await k3dClusterStart(app.runner, name, { timeoutMs });
          return app.options.dryRun ? `would start cluster ${name}` : `started cluster ${name}`;
        },
      },
      // The nodes step reads the context: write it again if it was lost or is stale.
      kubeconfigStep(app, app.target(name), { clusterRunning: true }),
      nodesReadyStep(app, app.target(name), config.servers + config.agents),
    ],
    app.signal,
  );
}

export async function stop(app: AppContext): Promise<void> {
  await app.exclusive(await app.clusterName(), 'stop', () => stopLocked(app));
}

async function stopLocked(app: AppContext): Promise<void> {
  const { name, state } = await localCluster(app, 'stop');
  if (state.phase === 'absent') throw noCluster(name);
  await runSteps(
    app.ui,
    [
      {
        title: `stop cluster ${name}`,
        satisfied: async () => (state.phase === 'stopped' ? 'already stopped' : undefined),
        run: async () => {
          await k3dClusterStop(app.runner, name, { timeoutMs: app.timeoutMs(5 * 60_000) });
          return app.options.dryRun ? `would stop cluster ${name}` : `stopped cluster ${name} (start it again with \`keystone start\`)`;
        },
      },
    ],
    app.signal,
  );
}

export async function deleteCluster(app: AppContext): Promise<void> {
  await app.exclusive(await app.clusterName(), 'delete', () => deleteLocked(app));
}

async function deleteLocked(app: AppContext): Promise<void> {
  const { name, state } = await localCluster(app, 'delete');
  await runSteps(
    app.ui,
    [
      {
        title: `delete cluster ${name}`,
        satisfied: async () => (state.phase === 'absent' ? 'it does not exist' : undefined),
        run: async () => {
          await k3dClusterDelete(app.runner, name, { timeoutMs: app.timeoutMs(5 * 60_000) });
          return app.options.dryRun
            ? `would delete cluster ${name} and its volumes; ${app.paths.dataDir} on the host would be kept`
            : `deleted cluster ${name}; ${app.paths.dataDir} on the host is kept`;
        },
      },
      kubeconfigCleanupStep(app, app.target(name)),
    ],
    app.signal,
  );
}
