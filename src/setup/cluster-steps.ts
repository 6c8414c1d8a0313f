/** The cluster half of `keystone setup`: prerequisites, data directories, the k3d cluster, Ready nodes. */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { SetupContext } from './context.js';
import { defaultSetupTimeoutMs } from './timeouts.js';
import { KeystoneError } from '../errors.js';
import type { Step } from '../steps/run-steps.js';
import {
  describeDefaults,
  hostMountDirs,
  resolveHostPaths,
  writeResolvedConfig,
  type ClusterConfig,
  type LoadedClusterConfig,
} from '../cluster/config.js';
import { findK3d, requireDocker, requireK3dVersion, requireKubectl } from '../cluster/prerequisites.js';
import { describeState, observeCluster, shapeDifference, type ClusterState } from '../cluster/state.js';
import { installK3d, k3dReleaseVersion } from '../tools/k3d-install.js';
import { k3dClusterCreate, k3dClusterStart, k3dFindCluster, k3dKubeconfigGet } from '../tools/k3d.js';
import { formatVersion } from '../tools/versions.js';
import { toolNames } from '../runs/request/profiles.js';
import { waitForNodesReady } from '../kube/nodes.js';
import { defaultKubeconfigFile } from '../kube/kubeconfig/files.js';
import {
  applyKubeconfigMerge,
  filesHolding,
  k3dEntryNames,
  parseFetchedKubeconfig,
  planKubeconfigMerge,
  removeKubeconfigEntries,
  type MergePlan,
} from '../kube/kubeconfig/merge.js';

export { defaultSetupTimeoutMs };

export function recreateHint(configPath: string): string {
  return `to recreate it with the shape in ${configPath}: \`keystone delete\` then \`keystone setup\` (deletes the cluster and its volumes; ./data on the host is kept)`;
}

export function prerequisiteSteps(app: SetupContext): Step[] {
  return [
    {
      title: 'Docker is running',
      run: async () => `Docker ${await requireDocker(app.runner, app.env)} is running`,
    },
    {
      title: 'kubectl is installed',
      run: async () => `kubectl ${formatVersion(await requireKubectl(app.runner))}`,
    },
    {
      title: 'k3d is installed',
      run: async (progress) => {
        let version = await findK3d(app.runner, app.env);
        if (!version) {
          if (app.options.dryRun) return `k3d is missing: would install k3d ${k3dReleaseVersion}`;
          progress.update(`k3d not found; installing k3d ${k3dReleaseVersion}`);
          const path = await installK3d({ env: app.env, log: (l) => app.ui.debug(l) });
          app.runner.setToolPath('k3d', path);
          version = await findK3d(app.runner, app.env);
          if (!version) throw new KeystoneError(`installed k3d at ${path}, but it does not run`);
          return `installed k3d ${formatVersion(requireK3dVersion(version))} into ${dirname(path)} (add that directory to PATH to run k3d yourself)`;
        }
        return `k3d ${formatVersion(requireK3dVersion(version))}`;
      },
    },
  ];
}

export function dataDirectoriesStep(app: SetupContext, loaded: LoadedClusterConfig): Step {
  const resolved = resolveHostPaths(loaded.config, app.paths.root);
  return {
    title: 'data directories',
    run: async () => {
      // One directory per simulation profile, so a new code's inputs have their place too.
      const tools = await toolNames(app.paths.profiles, app.cwd);
      const dirs = [...hostMountDirs(resolved), ...tools.map((tool) => join(app.paths.dataDir, tool))];
      if (app.options.dryRun) {
        const missing = dirs.filter((d) => !existsSync(d));
        const where = relative(app.cwd, app.paths.dataDir) || app.paths.dataDir;
        return missing.length
          ? `would create ${missing.map((d) => relative(app.cwd, d) || d).join(', ')}`
          : `data directories exist (${where})`;
      }
      for (const dir of dirs) await mkdir(dir, { recursive: true });
      return `data directories ready (${relative(app.cwd, app.paths.dataDir) || app.paths.dataDir})`;
    },
  };
}

export function clusterStep(
  app: SetupContext,
  loaded: LoadedClusterConfig,
  shared: { clusterRunning?: boolean } = {},
): Step {
  const { config } = loaded;
  const name = config.metadata.name;
  const configLabel = relative(app.cwd, loaded.path) || loaded.path;
  let state: ClusterState | undefined;
  const observe = async () => (state = observeCluster(name, await k3dFindCluster(app.runner, name)));
  return {
    title: `cluster ${name}`,
    satisfied: async () => {
      const current = await observe();
      shared.clusterRunning = current.phase === 'running';
      if (current.phase === 'absent') return undefined;
      const difference = shapeDifference(current, config, loaded.defaults);
      if (difference) throw new KeystoneError(difference, { hint: recreateHint(configLabel) });
      return current.phase === 'running'
        ? `already running (${current.servers.count} servers, ${current.agents.count} agents)`
        : undefined;
    },
    run: async (progress) => {
      const timeoutMs = app.timeoutMs(defaultSetupTimeoutMs);
      const env = app.kubeconfigs.explicit ? { KUBECONFIG: app.kubeconfigs.explicit } : undefined;
      if (state && state.phase !== 'absent') {
        progress.update(`${describeState(state)}; starting it`);
        await k3dClusterStart(app.runner, name, { timeoutMs, env });
        shared.clusterRunning = !app.options.dryRun;
        return app.options.dryRun ? `would start cluster ${name}` : `started cluster ${name}`;
      }
      // Host ports, disk space and the kubeconfig were checked by the pre-checks step (setup/preflight.ts).
      const file = await writeResolvedConfig(forK3d(resolveHostPaths(config, app.paths.root)), loaded.path);
      progress.update(`creating ${config.servers} servers and ${config.agents} agents (k3d cluster create)`);
      try {
        await k3dClusterCreate(app.runner, file, { timeoutMs, env });
      } catch (err) {
        if (!(err instanceof KeystoneError)) throw err;
        throw await explainCreateFailure(app, name, err);
      } finally {
        await rm(dirname(file), { recursive: true, force: true });
      }
      shared.clusterRunning = !app.options.dryRun;
      const defaulted = describeDefaults(loaded.defaults);
      const shape = `${config.servers} server${config.servers === 1 ? '' : 's'}, ${config.agents} agent${config.agents === 1 ? '' : 's'}${defaulted ? `; ${defaulted}` : ''}`;
      return app.options.dryRun ? `would create cluster ${name} (${shape})` : `created cluster ${name} (${shape})`;
    },
  };
}

/**
 * keystone writes the cluster's kubeconfig entries itself (kubeconfigStep), so k3d is told not to:
 * k3d v5.8.3 cannot pick a file from a KUBECONFIG listing several (pkg/client/kubeconfig.go
 * KubeconfigGetDefaultPath: it only logs a warning, cmd/cluster/clusterCreate.go), and it sets the
 * current-context whenever the file has none (KubeconfigMerge). Updating the kubeconfig made k3d
 * wait for the server (clusterCreate.go), which `k3d kubeconfig get` needs: keep that wait.
 */
function forK3d(config: ClusterConfig): ClusterConfig {
  const options = config.options ?? {};
  return {
    ...config,
    options: {
      ...options,
      k3d: { ...options.k3d, wait: true },
      kubeconfig: { updateDefaultKubeconfig: false, switchCurrentContext: false },
    },
  };
}

/**
 * The cluster's context, cluster and user entries, fetched from k3d (`k3d kubeconfig get`) and
 * written where kubectl would write them (kube/kubeconfig/merge.ts). Runs on every setup and start,
 * so a lost or stale entry is repaired; a second run writes nothing.
 */
export async function kubeconfigStep(app: SetupContext, shared: { clusterRunning?: boolean } = {}): Promise<Step> {
  const target = await app.target();
  const { files } = target.kubeconfig;
  let plan: MergePlan | undefined;
  return {
    title: `kubeconfig context ${target.context}`,
    satisfied: async () => {
      // A dry run has created nothing: there are no credentials to fetch yet.
      if (app.options.dryRun && !shared.clusterRunning) return undefined;
      const printed = await k3dKubeconfigGet(app.runner, target.clusterName, { timeoutMs: app.timeoutMs(60_000) });
      plan = await planKubeconfigMerge(await parseFetchedKubeconfig(printed, target.clusterName), files);
      return plan.writes.size === 0 ? `already in ${plan.contextFile}` : undefined;
    },
    run: async () => {
      if (!plan) return `would write context ${target.context} into ${await defaultKubeconfigFile(files)}`;
      const into = [...plan.writes.keys()].join(', ');
      if (app.options.dryRun) return `would write context ${target.context} into ${into}`;
      await applyKubeconfigMerge(plan);
      return `wrote context ${target.context} into ${into} (current-context unchanged)`;
    },
  };
}

/**
 * After `keystone delete`: the cluster's entries leave the kubeconfig. k3d removes them only from
 * a single default file (it warns and keeps them when KUBECONFIG lists several, as on create).
 */
export async function kubeconfigCleanupStep(app: SetupContext): Promise<Step> {
  const target = await app.target();
  const { files } = target.kubeconfig;
  const names = k3dEntryNames(target.clusterName);
  return {
    title: `kubeconfig context ${target.context}`,
    satisfied: async () => ((await filesHolding(names, files)).length === 0 ? 'not in any kubeconfig' : undefined),
    run: async () => {
      if (app.options.dryRun)
        return `would remove context ${target.context} from ${(await filesHolding(names, files)).join(', ')}`;
      const { changed, dangling } = await removeKubeconfigEntries(names, files);
      const note = dangling.length
        ? `; the current-context of ${dangling.join(', ')} still names it: pick another with \`kubectl config use-context\``
        : '';
      return `removed context ${target.context} from ${changed.join(', ')}${note}`;
    },
  };
}

/** k3d rolls back a failed create by default; check that it did, and say so either way. */
async function explainCreateFailure(app: SetupContext, name: string, err: KeystoneError): Promise<KeystoneError> {
  let leftover: string;
  try {
    const after = observeCluster(name, await k3dFindCluster(app.runner, name));
    leftover =
      after.phase === 'absent'
        ? 'k3d rolled it back; nothing was left behind'
        : `k3d left a partial cluster behind (${describeState(after)}); remove it with \`keystone delete\``;
  } catch {
    leftover = 'could not check whether k3d left anything behind; see `k3d cluster list`';
  }
  const portHint = /port is already allocated|address already in use/i.test(err.message)
    ? 'a container or program already holds that port: find it with `docker ps` or `ss -ltnp`, free it, and run setup again'
    : "run with --verbose to see k3d's full output";
  return new KeystoneError(`${err.message} (${leftover})`, { hint: portHint, details: err.details, cause: err });
}

export function nodesReadyStep(app: SetupContext, expected: number | undefined): Step {
  return {
    title: 'nodes Ready',
    run: async (progress) => {
      if (app.options.dryRun)
        return expected ? `would wait for ${expected} nodes to be Ready` : 'would wait for the nodes to be Ready';
      const client = await app.client();
      const nodes = await waitForNodesReady(client, {
        expected,
        timeoutMs: app.timeoutMs(defaultSetupTimeoutMs),
        onProgress: (text) => progress.update(text),
        signal: app.signal,
      });
      return `${nodes.filter((n) => n.ready).length}/${nodes.length} nodes Ready`;
    },
  };
}
