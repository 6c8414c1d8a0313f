/**
 * What every command gets: the three seams (ui, runner, kube), the parsed global options,
 * and the project's paths. Built once per invocation; tests build it with fakes.
 */
import { createProcessRunner, type Execute, type Runner, type Terminal } from './exec/runner.js';
import type { Ui } from './ui/ui.js';
import { createTargetContext, type TargetContext, type TargetOptions } from './target-context.js';
import { parseTimeout } from './duration.js';
import { join } from 'node:path';
import { localMachine, type Machine } from './machine.js';
import { systemClock, type Clock } from './clock.js';

export interface GlobalOptions extends TargetOptions {
  quiet?: boolean;
  timeout?: string;
  dryRun?: boolean;
  /** setup: take over fields another field manager owns (server-side apply force). */
  forceConflicts?: boolean;
}

export interface AppContext extends TargetContext {
  /** keystone's own version (package.json). */
  version: string;
  ui: Ui;
  runner: Runner;
  /** What keystone reads from the machine itself (free disk space). */
  machine: Machine;
  options: GlobalOptions;
  signal: AbortSignal;
  /** Whether keystone's stdin is a terminal (shell asks kubectl for a TTY only then). */
  stdinIsTTY: boolean;
  /** The time keystone stamps on what it makes (run ids); tests give their own. */
  clock: Clock;
  /** --timeout in ms, or the command's default. */
  timeoutMs(defaultMs: number): number;
  /**
   * For commands that just read (pods, status, logs): --timeout bounds the whole command, so
   * every API request and retry ends by then (counted from the command's start). Commands that
   * wait (setup, scale) use --timeout for each wait instead, and a run uses it as its time limit.
   */
  boundByTimeout(): void;
  /** Runs a cluster-changing command holding the cluster's lock (see src/lock.ts). */
  exclusive<T>(name: string, command: string, body: () => Promise<T>): Promise<T>;
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
  /** The machine's free space as keystone sees it; default: this machine's (tests give their own). */
  machine?: Machine;
  /** Default: the system's. */
  clock?: Clock;
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
  const timeout = options.timeout === undefined ? undefined : parseTimeout(options.timeout);
  const startedAt = Date.now();
  let deadline: { at: number; label: string } | undefined;
  const cluster = createTargetContext({
    env,
    cwd,
    options,
    log: (line) => ui.debug(line),
    warn: (line) => ui.warn(line),
    // No single API request waits longer than 30 s, nor longer than --timeout.
    requestTimeoutMs: Math.min(30_000, timeout ?? 30_000),
    deadline: () => deadline,
  });
  const app: AppContext = {
    ...cluster,
    version: init.version,
    ui,
    runner,
    machine: init.machine ?? localMachine,
    options,
    signal: init.signal,
    stdinIsTTY: init.stdinIsTTY,
    clock: init.clock ?? systemClock,
    timeoutMs: (defaultMs) => timeout ?? defaultMs,
    boundByTimeout() {
      if (timeout !== undefined) deadline = { at: startedAt + timeout, label: `--timeout ${options.timeout}` };
    },
    async exclusive(name, command, body) {
      if (options.dryRun) return body(); // a dry run changes nothing, so it needs no lock
      const [{ withClusterLock }, { keystoneHome }] = await Promise.all([import('./lock.js'), import('./keystone-home.js')]);
      return withClusterLock(join(keystoneHome(env), 'locks'), name, command, (holder) => ui.info(`Waiting for \`keystone ${holder.command}\` (pid ${holder.pid}) to finish...`), body);
    },
  };
  return app;
}
