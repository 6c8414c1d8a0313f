// A sandbox for running the built CLI as a user would (see test/fakes/sandbox.mjs), with helpers
// to run it, signal it, and read what the fake tools recorded.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { createSandbox, freePort, repoRoot, cliPath } from '../fakes/sandbox.mjs';

export { freePort, repoRoot, cliPath };

export type FakeTool = 'k3d' | 'docker' | 'kubectl';

export interface HarnessOptions {
  tools?: FakeTool[];
  state?: Record<string, unknown>;
  nodeReadyDelayMs?: number;
  podStartDelayMs?: number;
}

export interface RunOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

export async function createHarness(options: HarnessOptions = {}) {
  const sandbox = await createSandbox(options);
  const { env, project, fake } = sandbox;
  const harness = {
    ...sandbox,
    async run(args: string[], extra: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<RunOutcome> {
      const result = await execa(process.execPath, [cliPath, ...args], {
        env: { ...env, ...extra.env },
        extendEnv: false,
        reject: false,
        cwd: extra.cwd ?? project,
        timeout: extra.timeoutMs ?? 30_000,
        stdin: 'ignore',
      });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    /** Starts the CLI without waiting, for tests that signal it (Ctrl-C). */
    spawn(args: string[]) {
      return execa(process.execPath, [cliPath, ...args], { env, extendEnv: false, reject: false, cwd: project, stdin: 'ignore' });
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a condition of the fake cluster (10 s at most); tests use it to wait for controllers. */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A harness whose cluster and stack are already set up, as most command tests need. */
export async function createReadyHarness(options: HarnessOptions = {}): Promise<Harness> {
  const harness = await createHarness(options);
  const r = await harness.run(['setup']);
  if (r.exitCode !== 0) {
    await harness.cleanup();
    throw new Error(`setup failed in the test harness (exit ${r.exitCode}): ${r.stderr}`);
  }
  return harness;
}
