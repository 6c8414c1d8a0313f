// Control flow decides on error classes, never on the wording of a message (issue 14).
import { describe, expect, it } from 'vitest';
import { KeystoneError } from '../../src/errors.js';
import { createProcessRunner, ToolTimeoutError, type Execute } from '../../src/exec/runner.js';
import { dockerServerVersion, explainDockerFailure } from '../../src/tools/docker.js';

// A child that execa stopped at its time limit reports timedOut (execa's result.timedOut).
const timesOut: Execute = async () => ({
  timedOut: true,
  isCanceled: false,
  exitCode: undefined,
  stdout: '',
  stderr: '',
});

describe('typed errors', () => {
  it('a tool stopped at its time limit is a ToolTimeoutError, and Docker explains it as not answering', async () => {
    const runner = createProcessRunner({ verbose: false, dryRun: false, log: () => {}, execute: timesOut });
    const err = await runner.run('docker', ['info'], { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolTimeoutError);
    expect((err as Error).message).toBe('docker info did not finish within 20s');
    await expect(dockerServerVersion(runner, 20_000)).rejects.toThrow('Docker did not answer `docker info` within 20s');
  });

  it('an error that only mentions the same words is passed on as it is', () => {
    const other = new KeystoneError('the registry mirror did not finish within its window');
    expect(explainDockerFailure(other, 20_000)).toBe(other);
  });
});
