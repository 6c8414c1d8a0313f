/** The tools keystone drives locally: present, working, and new enough. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KeystoneError } from '../errors.js';
import { ToolMissingError, type Runner } from '../exec/runner.js';
import { dockerInfoTimeoutMs, dockerServerVersion } from '../tools/docker.js';
import { k3dVersion } from '../tools/k3d.js';
import { keystoneBinDir } from '../tools/k3d-install.js';
import { kubectlClientVersion } from '../tools/kubectl.js';
import { compareVersions, formatVersion, minimumVersions, type Version } from '../tools/versions.js';

export async function requireDocker(runner: Runner, env: NodeJS.ProcessEnv): Promise<string> {
  return dockerServerVersion(runner, dockerInfoTimeoutMs(env));
}

function requireAtLeast(tool: 'k3d' | 'kubectl', version: Version, upgrade: string): Version {
  const minimum = minimumVersions[tool];
  if (compareVersions(version, minimum) < 0) {
    throw new KeystoneError(
      `${tool} ${formatVersion(version)} is too old; keystone needs ${tool} >= ${formatVersion(minimum)}`,
      {
        hint: upgrade,
      },
    );
  }
  return version;
}

export async function requireKubectl(runner: Runner): Promise<Version> {
  return requireAtLeast(
    'kubectl',
    await kubectlClientVersion(runner),
    'upgrade kubectl: https://kubernetes.io/docs/tasks/tools/',
  );
}

/**
 * Runs a k3d call, with the k3d keystone installed earlier when none is on PATH.
 * Returns undefined when k3d is nowhere to be found.
 */
export async function withK3d<T>(
  runner: Runner,
  env: NodeJS.ProcessEnv,
  call: (runner: Runner) => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call(runner);
  } catch (err) {
    if (!(err instanceof ToolMissingError)) throw err;
  }
  const installed = join(keystoneBinDir(env), process.platform === 'win32' ? 'k3d.exe' : 'k3d');
  if (!existsSync(installed)) return undefined;
  runner.setToolPath('k3d', installed);
  return call(runner);
}

/** k3d's version (see withK3d); undefined when k3d is nowhere to be found. */
export async function findK3d(runner: Runner, env: NodeJS.ProcessEnv): Promise<Version | undefined> {
  return withK3d(runner, env, k3dVersion);
}

export function requireK3dVersion(version: Version): Version {
  return requireAtLeast(
    'k3d',
    version,
    'upgrade k3d (https://k3d.io/#installation), or remove it from PATH and let `keystone setup` install a current one',
  );
}
