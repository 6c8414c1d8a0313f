/**
 * What every command gets: the three seams (ui, runner, kube), the parsed global options,
 * and the project's paths. Built once per invocation; tests build it with fakes.
 */
import { createProcessRunner, type Execute, type Runner, type Terminal } from './exec/runner.js';
import type { Ui } from './ui/ui.js';
import { findProjectRoot, projectPaths, type ProjectPaths } from './project.js';
import { resolveTarget, type KubeTarget, describeTarget } from './kube/target.js';
import type { KubeClient } from './kube/client.js';
import type { LoadedClusterConfig } from './cluster/config.js';
import type { ClusterShape } from './cluster/cluster-name.js';
import { parseTimeout } from './duration.js';
import { join } from 'node:path';

export interface GlobalOptions {
  context?: string;
  kubeconfig?: string;
  config?: string;
  verbose?: boolean;
  quiet?: boolean;
  timeout?: string;
  dryRun?: boolean;
  /** setup: take over fields another field manager owns (server-side apply force). */
  forceConflicts?: boolean;
}

export interface AppContext {
  /** keystone's own version (package.json). */
  version: string;
  ui: Ui;
  runner: Runner;
  env: NodeJS.ProcessEnv;
  cwd: string;
  options: GlobalOptions;
  signal: AbortSignal;
  /** Whether keystone's stdin is a terminal (shell asks kubectl for a TTY only then). */
  stdinIsTTY: boolean;
  paths: ProjectPaths;
  /** --timeout in ms, or the command's default. */
  timeoutMs(defaultMs: number): number;
  /**
   * For commands that just read (pods, status, logs): --timeout bounds the whole command, so
   * every API request and retry ends by then (counted from the command's start). Commands that
   * wait (setup, scale) use --timeout for each wait instead, and a run uses it as its time limit.
   */
  boundByTimeout(): void;
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
  /** Runs a cluster-changing command holding the cluster's lock (see src/lock.ts). */
  exclusive<T>(name: string, command: string, body: () => Promise<T>): Promise<T>;
  /** Releases what the command opened (API connections), so the process can end by itself. */
  close(): Promise<void>;
}

export interface AppContextInit {
  version: string;
  ui: Ui;
  env: NodeJS.ProcessEnv;
  cwd: string;
  options: GlobalOptions;
  signal: AbortSignal;
  runner?: Runner;
  /** What interactive children (shell) are given; default: this process's terminal. */
  terminal?: Terminal;
  stdinIsTTY: boolean;
  /** How tools are started (tests run their fakes in process); default: as child processes. */
  execute?: Execute;
}

export function createAppContext(init: AppContextInit): AppContext {
  const { ui, env, cwd, options } = init;
  const runner =
    init.runner ??
    createProcessRunner({
      verbose: Boolean(options.verbose),
      dryRun: Boolean(options.dryRun),
      log: (line) => (options.dryRun && !options.verbose ? ui.info(line) : ui.debug(line)),
      signal: init.signal,
      env,
      cwd,
      terminal: init.terminal,
      execute: init.execute,
    });
  const paths = projectPaths(findProjectRoot(cwd, env), options.config, cwd);
  const timeout = options.timeout === undefined ? undefined : parseTimeout(options.timeout);
  let client: Promise<KubeClient> | undefined;
  const startedAt = Date.now();
  let deadline: { at: number; label: string } | undefined;
  let config: Promise<LoadedClusterConfig> | undefined;
  let shape: Promise<ClusterShape> | undefined;
  let target: Promise<KubeTarget> | undefined;
  let announced = false;
  const targetFor = (clusterName: string): KubeTarget => {
    const resolved = resolveTarget({ context: options.context, kubeconfig: options.kubeconfig }, clusterName);
    if (!announced) {
      announced = true;
      ui.debug(`target: ${describeTarget(resolved)}`);
    }
    return resolved;
  };
  const app: AppContext = {
    version: init.version,
    ui,
    runner,
    env,
    cwd,
    options,
    signal: init.signal,
    stdinIsTTY: init.stdinIsTTY,
    paths,
    timeoutMs: (defaultMs) => timeout ?? defaultMs,
    boundByTimeout() {
      if (timeout !== undefined) deadline = { at: startedAt + timeout, label: `--timeout ${options.timeout}` };
    },
    target() {
      target ??= app.clusterName().then(targetFor);
      return target;
    },
    client() {
      client ??= Promise.all([app.target(), import('./kube/client.js')]).then(([target, { loadKubeClient }]) =>
        loadKubeClient(target, {
          verbose: Boolean(options.verbose),
          log: (line) => ui.debug(line),
          warn: (line) => ui.warn(line),
          // No single API request waits longer than 30 s, nor longer than --timeout.
          requestTimeoutMs: Math.min(30_000, timeout ?? 30_000),
          deadline: () => deadline,
          env,
        }),
      );
      return client;
    },
    async close() {
      (await client?.catch(() => undefined))?.close();
    },
    async exclusive(name, command, body) {
      if (options.dryRun) return body(); // a dry run changes nothing, so it needs no lock
      const [{ withClusterLock }, { keystoneHome }] = await Promise.all([import('./lock.js'), import('./tools/k3d-install.js')]);
      return withClusterLock(join(keystoneHome(env), 'locks'), name, command, (holder) => ui.info(`Waiting for \`keystone ${holder.command}\` (pid ${holder.pid}) to finish...`), body);
    },
    async clusterName() {
      // Whichever read of the config this command already made gives the name.
      if (config) return (await config).config.metadata.name;
      if (shape) return (await shape).name;
      const { readClusterName } = await import('./cluster/cluster-name.js');
      return readClusterName(paths.clusterConfig, () => app.clusterConfig());
    },
    clusterShape() {
      shape ??= import('./cluster/cluster-name.js').then(({ readClusterShape }) => readClusterShape(paths.clusterConfig, () => app.clusterConfig()));
      return shape;
    },
    clusterConfig() {
      // zod and yaml load only for commands that read the config, not for --help or --version.
      config ??= import('./cluster/config.js').then(({ loadClusterConfig }) => loadClusterConfig(paths.clusterConfig));
      return config;
    },
  };
  return app;
}
