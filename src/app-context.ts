/**
 * What every command gets: the three seams (ui, runner, kube), the parsed global options,
 * and the project's paths. Built once per invocation; tests build it with fakes.
 */
import { createProcessRunner, type Execute, type Runner, type Terminal } from './exec/runner.js';
import type { Ui } from './ui/ui.js';
import { createTargetContext, type TargetContext, type TargetOptions } from './target-context.js';
import { parseTimeout } from './duration.js';
import { join, relative } from 'node:path';
import { GuardedDir } from './guarded-fs.js';
import { localMachine, type Machine } from './machine.js';
import { systemClock, type Clock } from './clock.js';

export interface GlobalOptions extends TargetOptions {
  quiet?: boolean;
  timeout?: string;
  dryRun?: boolean;
  /** setup: take over fields another field manager owns (server-side apply force). */
  forceConflicts?: boolean;
  /** delete, jobs clean --purge-outputs: do not ask on a terminal. */
  yes?: boolean;
}

export interface AppContext extends TargetContext {
  /** keystone's own version (package.json). */
  version: string;
  /** keystone's arguments as given (run records keep them, --env values left out). */
  argv: readonly string[];
  ui: Ui;
  runner: Runner;
  /** What keystone reads from the machine itself (free disk space). */
  machine: Machine;
  options: GlobalOptions;
  signal: AbortSignal;
  /** Whether keystone's stdin is a terminal (shell asks kubectl for a TTY only then). */
  stdinIsTTY: boolean;
  /**
   * Asks before something that cannot be undone, on a terminal only: true at once with --yes or
   * when stdin is not a terminal (scripts act as before); else the answer to `question [y/N]`.
   */
  confirm(question: string): Promise<boolean>;
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
  /**
   * The one way files are written and deleted (src/guarded-fs.ts): data/, or a directory the user
   * named (`jobs fetch --to`); nothing through a symlink that leaves it, no differing file
   * overwritten without --force, and Ctrl-C stops it at the next file.
   */
  data(): GuardedDir;
  guardedDir(root: string, options?: { force?: boolean }): GuardedDir;
}

export interface AppContextInit {
  version: string;
  argv?: readonly string[];
  ui: Ui;
  env: NodeJS.ProcessEnv;
  cwd: string;
  options: GlobalOptions;
  signal: AbortSignal;
  runner?: Runner;
  /** What interactive children (shell) are given; default: this process's terminal. */
  terminal?: Terminal;
  stdinIsTTY: boolean;
  /** Where confirm() reads the answer (the terminal); default: process.stdin. */
  stdin?: NodeJS.ReadableStream;
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
  const clock = init.clock ?? systemClock;
  // On the command's clock, as the client compares the deadline with it.
  const startedAt = clock.now();
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
    signal: init.signal,
    clock,
  });
  const app: AppContext = {
    ...cluster,
    version: init.version,
    argv: init.argv ?? [],
    ui,
    runner,
    machine: init.machine ?? localMachine,
    options,
    signal: init.signal,
    stdinIsTTY: init.stdinIsTTY,
    async confirm(question) {
      if (options.yes || !init.stdinIsTTY) return true;
      const { askYesNo } = await import('./ui/confirm.js');
      return askYesNo(init.stdin ?? process.stdin, ui, question, init.signal);
    },
    clock,
    timeoutMs: (defaultMs) => timeout ?? defaultMs,
    boundByTimeout() {
      if (timeout !== undefined) deadline = { at: startedAt + timeout, label: `--timeout ${options.timeout}` };
    },
    data: () => app.guardedDir(cluster.paths.dataDir),
    guardedDir: (root, more = {}) =>
      new GuardedDir(root, { signal: init.signal, shown: (p) => relative(cwd, p) || p, ...more }),
    async exclusive(name, command, body) {
      if (options.dryRun) return body(); // a dry run changes nothing, so it needs no lock
      const [{ withClusterLock }, { keystoneHome }] = await Promise.all([
        import('./lock.js'),
        import('./keystone-home.js'),
      ]);
      return withClusterLock(
        join(keystoneHome(env), 'locks'),
        name,
        command,
        (holder) => ui.info(`Waiting for \`keystone ${holder.command}\` (pid ${holder.pid}) to finish...`),
        body,
      );
    },
  };
  return app;
}
