/**
 * The cluster a command acts on and its API client: the part of the app context that the TAB
 * fast path (src/completion/fast.ts) needs as well, without the terminal UI, the process runner
 * or the lock, which a TAB never uses (and whose modules it would otherwise load at every TAB).
 */
import type { Clock } from './clock.js';
import { findProjectRoot, projectPaths, type ProjectPaths } from './project.js';
import { resolveTarget, type KubeTarget, describeTarget } from './kube/target.js';
import type { KubeClient } from './kube/client.js';
import type { LoadedClusterConfig } from './cluster/config.js';
import type { ClusterShape } from './cluster/cluster-name.js';
import { findKubeconfigs, type Kubeconfigs } from './kube/kubeconfig/files.js';

/** The global options that choose the cluster and the project. */
export interface TargetOptions {
  context?: string;
  kubeconfig?: string;
  config?: string;
  verbose?: boolean;
}

export interface TargetContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  paths: ProjectPaths;
  /** The kubeconfig files in play (--kubeconfig, else KUBECONFIG, else ~/.kube/config), found once: every reader takes them from here. */
  kubeconfigs: Kubeconfigs;
  /**
   * The cluster this command acts on: --context, else the k3d cluster's own context
   * (k3d-<cluster name>), never the kubeconfig's current-context. Resolved once, on first use.
   */
  target(): Promise<KubeTarget>;
  /** The API client for `target()`, made once per invocation. */
  client(): Promise<KubeClient>;
  clusterConfig(): Promise<LoadedClusterConfig>;
  /**
   * Just the cluster's name from the config, without validating the whole file (that loads zod):
   * what read commands need to pick the target. setup, start, stop and doctor validate it all.
   */
  clusterName(): Promise<string>;
  /** The cluster's name, servers and agents, read as cheaply as clusterName() (status needs the counts). */
  clusterShape(): Promise<ClusterShape>;
  /** Releases what the command opened (API connections), so the process can end by itself. */
  close(): Promise<void>;
}

export interface TargetContextInit {
  env: NodeJS.ProcessEnv;
  cwd: string;
  options: TargetOptions;
  /** --verbose lines (the target chosen, each request). */
  log(line: string): void;
  /** Warnings about the kubeconfig (a file others can read). */
  warn(line: string): void;
  /** The longest any single API request may wait. */
  requestTimeoutMs: number;
  /** When the whole command must have ended, if it is bounded (`AppContext.boundByTimeout`). */
  deadline?: () => { at: number; label: string } | undefined;
  /** Ctrl-C: every request of the client honours it (src/kube/client.ts). */
  signal?: AbortSignal;
  /** The command's clock: the client's waits between retries are on it, as every other wait is. */
  clock?: Clock;
}

export function createTargetContext(init: TargetContextInit): TargetContext {
  const { env, cwd, options } = init;
  const paths = projectPaths(findProjectRoot(cwd, env), options.config, cwd);
  let client: Promise<KubeClient> | undefined;
  let config: Promise<LoadedClusterConfig> | undefined;
  let shape: Promise<ClusterShape> | undefined;
  let target: Promise<KubeTarget> | undefined;
  const kubeconfigs = findKubeconfigs(options.kubeconfig, env);
  // Called once: target() keeps the promise, so the target is announced once.
  const targetFor = (clusterName: string): KubeTarget => {
    const resolved = resolveTarget({ context: options.context, kubeconfig: kubeconfigs }, clusterName);
    init.log(`target: ${describeTarget(resolved)}`);
    return resolved;
  };
  const context: TargetContext = {
    env,
    cwd,
    paths,
    kubeconfigs,
    target() {
      target ??= context.clusterName().then(targetFor);
      return target;
    },
    client() {
      client ??= Promise.all([context.target(), import('./kube/client.js')]).then(([target, { loadKubeClient }]) =>
        loadKubeClient(target, {
          verbose: Boolean(options.verbose),
          log: init.log,
          warn: init.warn,
          requestTimeoutMs: init.requestTimeoutMs,
          deadline: init.deadline,
          signal: init.signal,
          clock: init.clock,
        }),
      );
      return client;
    },
    async close() {
      (await client?.catch(() => undefined))?.close();
    },
    async clusterName() {
      // Whichever read of the config this command already made gives the name.
      if (config) return (await config).config.metadata.name;
      if (shape) return (await shape).name;
      const { readClusterName } = await import('./cluster/cluster-name.js');
      return readClusterName(paths.clusterConfig, () => context.clusterConfig());
    },
    clusterShape() {
      shape ??= import('./cluster/cluster-name.js').then(({ readClusterShape }) =>
        readClusterShape(paths.clusterConfig, () => context.clusterConfig()),
      );
      return shape;
    },
    clusterConfig() {
      // zod and yaml load only for commands that read the config, not for --help or --version.
      config ??= import('./cluster/config.js').then(async ({ loadClusterConfig }) => {
        const loaded = await loadClusterConfig(paths.clusterConfig, env);
        // Said once per command: an older config version read by migrating it, as k3d does.
        for (const note of loaded.notes) init.warn(note);
        return loaded;
      });
      return config;
    },
  };
  return context;
}
