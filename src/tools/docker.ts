/** Typed calls to the docker CLI. */
import { KeystoneError } from '../errors.js';
import { ToolFailedError, type Runner } from '../exec/runner.js';

/** Docker answers `docker info` within this time or is treated as unreachable. */
export const dockerInfoTimeoutMs = 20_000;

export async function dockerServerVersion(runner: Runner): Promise<string> {
  try {
    const result = await runner.run('docker', ['info', '--format', '{{json .ServerVersion}}'], { timeoutMs: dockerInfoTimeoutMs });
    const version = JSON.parse(result.stdout.trim() || '""') as string;
    if (!version) throw new KeystoneError('Docker answered but reported no server version');
    return version;
  } catch (err) {
    throw explainDockerFailure(err);
  }
}

export function explainDockerFailure(err: unknown): unknown {
  if (!(err instanceof ToolFailedError)) {
    if (err instanceof KeystoneError && /did not finish within/.test(err.message)) {
      return new KeystoneError(`Docker did not answer \`docker info\` within ${dockerInfoTimeoutMs / 1000}s`, {
        hint: 'Docker is overloaded or stuck: restart it (`sudo systemctl restart docker`, or restart Docker Desktop)',
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
