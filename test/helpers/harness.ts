// A sandbox for running keystone as a user would (see test/fakes/sandbox.mjs), with helpers to
// run it, signal it, and read what the fake tools recorded. `run` calls main() in this process
// with the sandbox's environment, directory and captured streams (the fake k3d/docker/kubectl
// still run as executables, found on the sandbox's PATH); `spawn` starts the built CLI as a real
// process, for what only a process has: signals, exit, pipes.
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { closeSync, constants as fsConstants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable, type WritableOptions } from 'node:stream';
import { createRequire } from 'node:module';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  createSandbox,
  snapshotSandbox,
  freePort,
  repoRoot,
  cliPath,
  type SandboxSnapshot,
} from '../fakes/sandbox.mjs';
import { main } from '../../src/main.js';
import { executeFakesInProcess } from './fake-tools.js';
import { fakeMachine } from '../fakes/fake-machine.cjs';
import type { Machine } from '../../src/machine.js';
import { systemClock, type Clock } from '../../src/clock.js';

/** bin/when-written.cjs, which the launcher waits with before it exits. */
export const { whenWritten } = createRequire(import.meta.url)(join(repoRoot, 'bin', 'when-written.cjs')) as {
  whenWritten: (streams: Writable[]) => Promise<void>;
};

export { freePort, repoRoot, cliPath };

export type FakeTool = 'k3d' | 'docker' | 'kubectl' | 'lsof';

export interface HarnessOptions {
  tools?: FakeTool[];
  state?: Record<string, unknown>;
  nodeReadyDelayMs?: number;
  podStartDelayMs?: number;
  /** Serve the fake API over HTTPS with client-certificate auth, as a k3d cluster does. */
  tls?: boolean;
}

export interface RunOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

/**
 * The system tools a test may start beside node and the fakes (a shell, a pipe's reader, the pty
 * driver): each linked from /usr/bin or /bin into one directory, so a test's PATH names exactly
 * these, never a directory where a real docker, kubectl, k3d or engine may be installed.
 */
export const systemTools = ['sh', 'bash', 'head', 'python3'] as const;

async function linkSystemTools(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const tool of systemTools) {
    const found = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (!found) throw new Error(`the tests need ${tool} in /usr/bin or /bin`);
    await symlink(found, join(dir, tool));
  }
}

export async function createHarness(options: HarnessOptions & { from?: SandboxSnapshot } = {}) {
  const sandbox = await createSandbox(options);
  const { env, project, fake } = sandbox;
  let fifos = 0;
  const systemBin = join(sandbox.root, 'system-bin');
  await linkSystemTools(systemBin);
  const harness = {
    ...sandbox,
    /** systemTools, for a test that runs keystone under a shell: PATH `${h.bin}:${h.systemBin}`. */
    systemBin,
    /** Runs one keystone command in process, as `keystone ARGS` would run in the sandbox. */
    async run(
      args: string[],
      extra: {
        env?: Record<string, string>;
        timeoutMs?: number;
        cwd?: string;
        tty?: Tty;
        stdout?: CapturedStream;
        interrupt?: Promise<unknown>;
        stdin?: string;
        clock?: Clock;
      } = {},
    ): Promise<RunOutcome> {
      // Node options (e.g. --require of test/fakes/fs-faults.cjs) take effect only in a new process.
      if (extra.env?.NODE_OPTIONS && !extra.tty) return harness.runProcess(args, extra);
      return runInProcess(args, {
        env: { ...env, ...extra.env },
        cwd: extra.cwd ?? project,
        timeoutMs: extra.timeoutMs ?? 30_000,
        tty: extra.tty,
        stdout: extra.stdout,
        interrupt: extra.interrupt,
        stdin: extra.stdin,
        clock: extra.clock,
        machine: fakeMachine(fake),
      });
    },
    /**
     * Holds the nth call of a fake tool from now open (test/fakes/fake-state.mjs logCall): `reached`
     * resolves once the fake is in it; `release()` lets it go on.
     */
    async holdToolCall(n: number): Promise<{ reached: Promise<void>; release: () => Promise<void> }> {
      const before = (await harness.calls()).length;
      await rm(join(fake, 'held'), { force: true });
      await rm(join(fake, 'release'), { force: true });
      await harness.setState({ ...(await harness.state()), holdCall: before + n });
      return {
        reached: until(() => existsSync(join(fake, 'held')), `fake tool call ${before + n} to be held`),
        async release() {
          const { holdCall: _, ...rest } = await harness.state();
          await harness.setState(rest);
          await writeFile(join(fake, 'release'), '');
        },
      };
    },
    /** Runs the built CLI as a separate process, for what only a process shows (exit, pipes draining). */
    async runProcess(
      args: string[],
      extra: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
    ): Promise<RunOutcome> {
      // A test's own preload (fs faults, a probe) comes on top of the sandbox's fake machine.
      const nodeOptions = [env.NODE_OPTIONS, extra.env?.NODE_OPTIONS].filter(Boolean).join(' ');
      const result = await execa(process.execPath, [cliPath, ...args], {
        env: { ...env, ...extra.env, NODE_OPTIONS: nodeOptions },
        extendEnv: false,
        reject: false,
        cwd: extra.cwd ?? project,
        timeout: extra.timeoutMs ?? 30_000,
        stdin: 'ignore',
      });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    /**
     * Runs the built CLI with stdout a pipe whose reader has already closed, as in `keystone pods |
     * true` when `true` was quicker: every write to it fails with EPIPE. Made deterministic with a
     * FIFO: opened for reading and writing (so the write end opens at once), the writer passed to
     * the CLI, then the only reader closed before the CLI starts.
     */
    async runWithClosedStdout(
      args: string[],
      extra: { env?: Record<string, string>; timeoutMs?: number } = {},
    ): Promise<RunOutcome & { signal?: string }> {
      const fifo = join(sandbox.root, `closed-stdout-${++fifos}`);
      await execa('mkfifo', [fifo]);
      const reader = openSync(fifo, fsConstants.O_RDWR);
      const writer = openSync(fifo, fsConstants.O_WRONLY);
      closeSync(reader);
      try {
        const child = spawn(process.execPath, [cliPath, ...args], {
          env: { ...env, ...extra.env },
          cwd: project,
          stdio: ['ignore', writer, 'pipe'],
        });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), extra.timeoutMs ?? 30_000);
        const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
        clearTimeout(timer);
        return { exitCode: code ?? -1, signal: signal ?? undefined, stdout: '', stderr: stripFinalNewline(stderr) };
      } finally {
        closeSync(writer);
        await rm(fifo, { force: true });
      }
    },
    /** Starts the CLI without waiting, for tests that signal it (Ctrl-C). */
    spawn(args: string[], extra: { env?: Record<string, string> } = {}) {
      // A test's own preload (fs faults, holds) comes on top of the sandbox's fake machine.
      const nodeOptions = [env.NODE_OPTIONS, extra.env?.NODE_OPTIONS].filter(Boolean).join(' ');
      return execa(process.execPath, [cliPath, ...args], {
        env: { ...env, ...extra.env, NODE_OPTIONS: nodeOptions },
        extendEnv: false,
        reject: false,
        cwd: project,
        stdin: 'ignore',
      });
    },
    async state(): Promise<Record<string, any>> {
      return JSON.parse(await readFile(join(fake, 'state.json'), 'utf8'));
    },
    async setState(state: Record<string, unknown>): Promise<void> {
      await writeFile(join(fake, 'state.json'), JSON.stringify(state, null, 2));
    },
    async calls(tool?: FakeTool): Promise<string[][]> {
      const file = join(fake, 'calls.jsonl');
      if (!existsSync(file)) return [];
      const lines = (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean);
      return lines
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
        .filter((c) => !tool || c.tool === tool)
        .map((c) => [c.tool, ...c.argv]);
    },
    async clearCalls(): Promise<void> {
      await rm(join(fake, 'calls.jsonl'), { force: true });
    },
  };
  return harness;
}

/** Which of the output streams look like a terminal (isTTY, 80 columns); by default neither, as when piped. */
export interface Tty {
  stdout?: boolean;
  stderr?: boolean;
  /** stdin a terminal (what the user types is `stdin`). */
  stdin?: boolean;
}

/** A stream that keeps what is written to it: a pipe, or with isTTY set, a terminal. */
export class CapturedStream extends Writable {
  isTTY?: boolean;
  columns?: number;
  private chunks: string[] = [];
  constructor(tty = false, options?: WritableOptions) {
    super(options);
    if (tty) {
      this.isTTY = true;
      this.columns = 80;
    }
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/**
 * stdout as a pipe whose reader has gone (`keystone pods | true` when `true` was quicker), for a
 * command run in process: every write fails with EPIPE, as write(2) on such a pipe does (Node
 * ignores SIGPIPE and reports the errno); the stream is destroyed and emits 'error', as a socket is.
 */
export class ClosedPipe extends CapturedStream {
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    // Linux's pipe_write returns 0 for an empty write before it looks for readers (fs/pipe.c), so
    // the sink's empty "settled" write succeeds on a real closed pipe; only data fails.
    if (chunk.length === 0) {
      done();
      return;
    }
    done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' }));
  }
}

/**
 * main() in this process with the given environment and directory; the deadline aborts the
 * command as Ctrl-C would, and the outcome says so (exit 130 and "timed out" on stderr).
 */
export async function runInProcess(
  args: string[],
  io: {
    env: Record<string, string | undefined>;
    cwd: string;
    timeoutMs?: number;
    stdin?: string;
    tty?: Tty;
    stdout?: CapturedStream;
    interrupt?: Promise<unknown>;
    clock?: Clock;
    machine: Machine;
  },
): Promise<RunOutcome> {
  const stdout = io.stdout ?? new CapturedStream(io.tty?.stdout);
  const stderr = new CapturedStream(io.tty?.stderr);
  const controller = new AbortController();
  const timeoutMs = io.timeoutMs ?? 30_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  // Ctrl-C, as the signal handler in main.ts turns it into an abort.
  void io.interrupt?.then(() => controller.abort());
  try {
    const exitCode = await main(args, {
      streams: { stdout, stderr },
      stdin: Object.assign(
        Readable.from(io.stdin === undefined ? [] : [io.stdin]),
        io.tty?.stdin ? { isTTY: true } : {},
      ),
      env: io.env,
      cwd: io.cwd,
      signal: controller.signal,
      execute: executeFakesInProcess,
      clock: io.clock,
      machine: io.machine,
    });
    // As bin/keystone.cjs does before it exits: what is still queued for a slow reader is delivered.
    if (stdout.writableLength > 0) await whenWritten([stdout]);
    const note = timedOut ? `\n[harness] timed out after ${timeoutMs}ms` : '';
    // As execa hands a child's output over: without the final newline.
    return { exitCode, stdout: stripFinalNewline(stdout.text), stderr: stripFinalNewline(stderr.text) + note };
  } finally {
    clearTimeout(timer);
  }
}

const stripFinalNewline = (text: string) => text.replace(/\r?\n$/, '');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The system's clock moved on by `ms`: runs made through it get later run ids (they are stamped to
 * the second) without the test waiting for the second to pass.
 */
export const clockAhead = (ms: number): Clock => ({ now: () => Date.now() + ms, sleep: systemClock.sleep });

/**
 * A clock on which keystone's own waits take no time: each sleep moves it on by its length and
 * returns on the next turn of the event loop. For waits on something that will not happen while
 * the test looks (a lock another process holds, an API that keeps failing): the wait runs out at
 * once and still reads as its full length to keystone. Not for waits on the fake cluster, whose
 * controllers act on the real clock: those would run out before the cluster could act.
 */
export function fastClock(): Clock {
  let ahead = 0;
  return {
    now: () => Date.now() + ahead,
    sleep: async (ms, signal) => {
      if (!signal?.aborted) ahead += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** Polls a condition of the fake cluster (10 s at most); tests use it to wait for controllers. */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A harness whose cluster and stack are already set up, as most command tests need. `setup` is the
 * costliest command (about a fifth of a second of CPU and half a second of waiting for nodes and
 * rollouts), and most tests only need what it leaves: so each test worker runs one real `setup`
 * in a sandbox of its own, keeps what it left (files, the fake cluster's objects, logs and
 * history: snapshotSandbox), and starts every other ready harness from that. A test of setup
 * itself runs it (createHarness, then `h.run(['setup'])`); with options, so does this.
 */
export async function createReadyHarness(options: HarnessOptions = {}): Promise<Harness> {
  if (Object.keys(options).length > 0) return setUp(await createHarness(options));
  readySnapshot ??= takeReadySnapshot();
  return createHarness({ from: await readySnapshot });
}

/** One per worker process (vitest's `isolate: false` shares this module across its test files). */
let readySnapshot: Promise<SandboxSnapshot> | undefined;

async function takeReadySnapshot(): Promise<SandboxSnapshot> {
  const harness = await setUp(await createHarness());
  try {
    // What setup's last requests set off in the fake controllers (informers run on setImmediate).
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    // system-bin: linked again by createHarness.
    return await snapshotSandbox(harness, { skip: ['system-bin'] });
  } finally {
    await harness.cleanup();
  }
}

async function setUp(harness: Harness): Promise<Harness> {
  const r = await harness.run(['setup']);
  if (r.exitCode !== 0) {
    await harness.cleanup();
    throw new Error(`setup failed in the test harness (exit ${r.exitCode}): ${r.stderr}`);
  }
  return harness;
}

/** A run's Job as the fake API server holds it. */
export type RunJob = {
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: any;
  status: any;
};

/** The Jobs of simulation runs in the sandbox's cluster (not the suspended templates). */
export const runJobsOf = (h: Harness): RunJob[] =>
  h.api.objects('jobs').filter((j: RunJob) => j.metadata.labels?.['keystone.io/run-id']);
