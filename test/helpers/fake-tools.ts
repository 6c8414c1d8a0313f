// Runs the fake k3d, docker, kubectl (any test/fakes/fake-<tool>.mjs) inside the test process
// instead of starting a Node process for each call, which costs 50 ms to half a second a call
// (setup makes about a dozen). Each fake is written as an executable script; here its top level
// becomes the body of a function that gets its own `process` (argv, env, cwd, stdout, stderr,
// exit), so the same file serves both ways unchanged. Anything else on PATH runs as a process.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Writable } from 'node:stream';
import { executeProcess, type Execute, type Execution } from '../../src/exec/runner.js';
import { fakeProcess } from '../fakes/fake-state.mjs';

const fakesDir = resolve(import.meta.dirname, '..', 'fakes');
const fakeBinDir = join(fakesDir, 'bin');

class FakeExit extends Error {
  constructor(readonly code: number) {
    super(`fake exited with ${code}`);
  }
}

type FakeMain = (process: NodeJS.Process) => Promise<void>;
const loaded = new Map<string, Promise<FakeMain>>();

/** The fake's module with its top level wrapped in `async function (process) { ... }`. */
function loadFake(tool: string): Promise<FakeMain> {
  let fake = loaded.get(tool);
  if (!fake) {
    fake = (async () => {
      const source = readFileSync(join(fakesDir, `fake-${tool}.mjs`), 'utf8');
      // Static imports stay at the top (with absolute specifiers); everything else is the body.
      const importRe = /^import\s[^;]*?from\s+['"]([^'"]+)['"];?[ \t]*$|^import\s+['"]([^'"]+)['"];?[ \t]*$/gms;
      const imports: string[] = [];
      const body = source.replace(importRe, (statement: string, from?: string, bare?: string) => {
        const specifier = from ?? bare ?? '';
        const absolute = specifier.startsWith('.') ? pathToFileURL(join(fakesDir, specifier)).href : specifier;
        imports.push(statement.replace(specifier, absolute));
        return '';
      });
      const wrapped = [
        ...imports,
        'export default async function fakeMain(process) {',
        // os.homedir() reads the real process's HOME; a fake run in process uses the HOME it was given.
        "const homedir = () => process.env.HOME ?? '/nonexistent';",
        body,
        '}',
      ].join('\n');
      // One directory per user: another user's (a root run's) would not be writable here.
      const dir = join(tmpdir(), `keystone-fakes-${process.getuid?.() ?? 'user'}`);
      await mkdir(dir, { recursive: true });
      const file = join(dir, `fake-${tool}-${createHash('sha256').update(wrapped).digest('hex').slice(0, 16)}.mjs`);
      // Test files run in several worker processes that all write this same file: each writes its
      // own temp copy and renames it into place, so no worker ever imports a half-written file.
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, wrapped);
      await rename(temp, file);
      return ((await import(pathToFileURL(file).href)) as { default: FakeMain }).default;
    })();
    loaded.set(tool, fake);
  }
  return fake;
}

/** Which fake a command name resolves to on the child's PATH, if it is one of test/fakes/bin. */
function fakeFor(file: string, env: Record<string, string | undefined>, cwd: string): string | undefined {
  const candidates = file.includes('/')
    ? [isAbsolute(file) ? file : resolve(cwd, file)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, file));
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    return dirname(real) === fakeBinDir && existsSync(join(fakesDir, `fake-${basename(real)}.mjs`))
      ? basename(real)
      : undefined;
  }
  return undefined;
}

/** Collects what the fake writes, or passes it on to a terminal stream (interactive children). */
function output(target: NodeJS.WritableStream | 'inherit' | undefined, isKilled: () => boolean) {
  const chunks: string[] = [];
  const stream = {
    write(chunk: string | Uint8Array, done?: (err?: Error | null) => void) {
      if (isKilled()) return true;
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      chunks.push(text);
      if (target && target !== 'inherit') (target as Writable).write(text);
      // As a stream calls a write's callback (the fake kubectl waits for it).
      if (done) process.nextTick(done);
      return true;
    },
    isTTY: false,
  };
  return { stream, text: () => chunks.join('') };
}

/** Runs fakes in process and everything else as a process; the runner's own logic is unchanged. */
export const executeFakesInProcess: Execute = async (file, args, options) => {
  const cwd = options.cwd ?? process.cwd();
  const tool = fakeFor(file, options.env, cwd);
  if (!tool) return executeProcess(file, args, options);
  const main = await loadFake(tool);
  let killed = false;
  const stdout = output(options.terminal?.stdout, () => killed);
  const stderr = output(options.terminal?.stderr, () => killed);
  // Everything else (platform, pid, nextTick, ...) is the real process's.
  const child = Object.create(process) as NodeJS.Process & { killed: boolean };
  const own = {
    argv: [process.execPath, join(fakeBinDir, tool), ...args],
    env: { ...options.env },
    cwd: () => cwd,
    stdout: stdout.stream,
    stderr: stderr.stream,
    exitCode: undefined as number | undefined,
    exit(code?: number): never {
      throw new FakeExit(Number(code ?? child.exitCode ?? 0));
    },
  };
  for (const [key, value] of Object.entries(own))
    Object.defineProperty(child, key, { value, writable: true, configurable: true });
  Object.defineProperty(child, 'killed', { get: () => killed });
  const finished: Promise<Execution> = fakeProcess
    .run(child, () => main(child))
    .then(
      (): Execution => ({ exitCode: typeof child.exitCode === 'number' ? child.exitCode : 0 }),
      (err: unknown): Execution => {
        if (err instanceof FakeExit) return { exitCode: err.code };
        // As Node does for an uncaught error: the stack on stderr, exit code 1.
        stderr.stream.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        return { exitCode: 1 };
      },
    )
    .then((end: Execution) => ({ ...end, stdout: stdout.text(), stderr: stderr.text() }));

  // A deadline or Ctrl-C stops the fake as a kill would: it writes and changes nothing after that.
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<Execution>((resolveStop) => {
    if (options.timeoutMs)
      timer = setTimeout(
        () => resolveStop({ timedOut: true, stdout: stdout.text(), stderr: stderr.text() }),
        options.timeoutMs,
      );
    onAbort = () => resolveStop({ isCanceled: true, stdout: stdout.text(), stderr: stderr.text() });
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const result = await Promise.race([finished, stopped]);
    if (result.timedOut || result.isCanceled) killed = true;
    return result;
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
};
