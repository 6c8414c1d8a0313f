/** `keystone start`, `stop` and `delete`: the k3d cluster's lifecycle. */
import type { AppContext } from '../app-context.js';
import { KeystoneError, UsageError } from '../errors.js';
import { findK3d } from '../cluster/prerequisites.js';
import { observeCluster, type ClusterState } from '../cluster/state.js';
import { k3dClusterDelete, k3dClusterStart, k3dClusterStop, k3dFindCluster } from '../tools/k3d.js';
import { runSteps, type Step } from '../steps/run-steps.js';
import {
  defaultSetupTimeoutMs,
  kubeconfigCleanupStep,
  kubeconfigStep,
  nodesReadyStep,
} from '../setup/cluster-steps.js';
import { ToolMissingError } from '../exec/runner.js';

async function localCluster(app: AppContext, verb: string): Promise<{ name: string; state: ClusterState }> {
  const { config } = await app.clusterConfig();
  const name = config.metadata.name;
  const target = await app.target();
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

/**
 * One lifecycle command: under the cluster's lock, check that keystone owns the cluster, then run
 * its steps. Only delete accepts a cluster that does not exist (there is nothing to do).
 */
function lifecycleCommand(
  verb: 'start' | 'stop' | 'delete',
  steps: (app: AppContext, name: string, state: ClusterState) => Promise<Step[]>,
) {
  return async (app: AppContext): Promise<void> => {
    await app.exclusive(await app.clusterName(), verb, async () => {
      const { name, state } = await localCluster(app, verb);
      if (state.phase === 'absent' && verb !== 'delete') throw noCluster(name);
      await runSteps(app.ui, await steps(app, name, state), app.signal);
    });
  };
}

/** The one k3d call of a lifecycle command, skipped when the cluster is already as asked. */
function k3dStep(
  app: AppContext,
  title: string,
  already: string | undefined,
  call: () => Promise<unknown>,
  said: { would: string; did: string },
): Step {
  return {
    title,
    satisfied: async () => already,
    run: async () => {
      await call();
      return app.options.dryRun ? said.would : said.did;
    },
  };
}

export const start = lifecycleCommand('start', async (app, name, state) => {
  const { config } = await app.clusterConfig();
  const timeoutMs = app.timeoutMs(defaultSetupTimeoutMs);
  return [
    k3dStep(
      app,
      `start cluster ${name}`,
      state.phase === 'running' ? 'already running' : undefined,
      () => k3dClusterStart(app.runner, name, { timeoutMs }),
      {
        would: `would start cluster ${name}`,
        did: `started cluster ${name}`,
      },
    ),
    // The nodes step reads the context: write it again if it was lost or is stale.
    await kubeconfigStep(app, { clusterRunning: true }),
    nodesReadyStep(app, config.servers + config.agents),
  ];
});

export const stop = lifecycleCommand('stop', async (app, name, state) => [
  k3dStep(
    app,
    `stop cluster ${name}`,
    state.phase === 'stopped' ? 'already stopped' : undefined,
    () => k3dClusterStop(app.runner, name, { timeoutMs: app.timeoutMs(5 * 60_000) }),
    {
      would: `would stop cluster ${name}`,
      did: `stopped cluster ${name} (start it again with \`keystone start\`)`,
    },
  ),
]);

export const deleteCluster = lifecycleCommand('delete', async (app, name, state) => {
  // Asked on a terminal (--yes skips it; a script's stdin is no terminal and acts as before).
  if (
    state.phase !== 'absent' &&
    !app.options.dryRun &&
    !(await app.confirm(
      `Delete cluster ${name} and its volumes (the Redis data with them)? ${app.paths.dataDir} on the host is kept.`,
    ))
  ) {
    throw new KeystoneError(`cluster ${name} was not deleted (not confirmed)`, {
      hint: '`keystone delete --yes` deletes without asking',
    });
  }
  return deleteSteps(app, name, state);
});

const deleteSteps = async (app: AppContext, name: string, state: ClusterState): Promise<Step[]> => [
  k3dStep(
    app,
    `delete cluster ${name}`,
    state.phase === 'absent' ? 'it does not exist' : undefined,
    () => k3dClusterDelete(app.runner, name, { timeoutMs: app.timeoutMs(5 * 60_000) }),
    {
      would: `would delete cluster ${name} and its volumes; ${app.paths.dataDir} on the host would be kept`,
      did: `deleted cluster ${name}; ${app.paths.dataDir} on the host is kept`,
    },
  ),
  await kubeconfigCleanupStep(app),
];

/** The lifecycle commands by their command-line name. */
export const lifecycle = { start, stop, delete: deleteCluster } as const;
