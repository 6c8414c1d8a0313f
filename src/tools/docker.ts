/** Typed calls to the docker CLI. */
import { KeystoneError } from '../errors.js';
import { parseTimeout } from '../duration.js';
import { ToolFailedError, ToolTimeoutError, type Runner } from '../exec/runner.js';

/** Docker answers `docker info` within this time (KEYSTONE_DOCKER_TIMEOUT: seconds or a duration like 90s, default 20) or is treated as unreachable. */
export function dockerInfoTimeoutMs(env: NodeJS.ProcessEnv): number {
  // The --timeout parser: a value that is 0, not a duration or beyond a timer's range is an error, not ignored.
  return env.KEYSTONE_DOCKER_TIMEOUT === undefined || env.KEYSTONE_DOCKER_TIMEOUT === ''
    ? 20_000
    : parseTimeout(env.KEYSTONE_DOCKER_TIMEOUT, 'KEYSTONE_DOCKER_TIMEOUT');
}

export async function dockerServerVersion(runner: Runner, timeoutMs: number): Promise<string> {
  try {
    const result = await runner.run('docker', ['info', '--format', '{{json .ServerVersion}}'], { timeoutMs });
    const version = JSON.parse(result.stdout.trim() || '""') as string;
    if (!version) throw new KeystoneError('Docker answered but reported no server version');
    return version;
  } catch (err) {
    throw explainDockerFailure(err, timeoutMs);
  }
}

export function explainDockerFailure(err: unknown, timeoutMs: number): unknown {
  if (!(err instanceof ToolFailedError)) {
    if (err instanceof ToolTimeoutError) {
      return new KeystoneError(`Docker did not answer \`docker info\` within ${Math.round(timeoutMs / 1000)}s`, {
        hint: 'Docker is overloaded or stuck: restart it (`sudo systemctl restart docker`, or restart Docker Desktop); KEYSTONE_DOCKER_TIMEOUT=60 waits longer',
      });
    }
    return err;
  }
  const reason = err.reason;
  if (/permission denied/i.test(reason)) {
    return new KeystoneError(`Docker refused access: ${reason}`, {
      hint: 'add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again)',
    });
  }
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|error during connect/i.test(reason)) {
    return new KeystoneError(`Docker is not running or not reachable: ${reason}`, {
      hint: 'start Docker (`sudo systemctl start docker`, or open Docker Desktop); if it runs elsewhere, check DOCKER_HOST',
    });
  }
  return new KeystoneError(`Docker is not usable: ${reason}`, { hint: 'run `docker info` to see what Docker says' });
}
