/**
 * keystone's own environment variables, checked once before any command runs (main's command
 * runner): a value that cannot work is a usage error (exit 2) for every command alike, named with
 * the variable, instead of an "unexpected error" or a failed step in the one command that reads
 * it (doctor said exit 1 where setup said 2). Where each is read stays where it is; this only
 * says, up front, that what will be read is usable.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseTimeout } from './duration.js';
import { UsageError } from './errors.js';

export function checkEnvironment(env: NodeJS.ProcessEnv, cwd: string): void {
  if (env.KEYSTONE_DOCKER_TIMEOUT) parseTimeout(env.KEYSTONE_DOCKER_TIMEOUT, 'KEYSTONE_DOCKER_TIMEOUT');
  // Created when missing (keystone-home.ts), so only something else in its place cannot work.
  if (env.KEYSTONE_HOME) requireDirectory('KEYSTONE_HOME', resolve(cwd, env.KEYSTONE_HOME), { mayBeMissing: true });
  if (env.KEYSTONE_PROJECT_DIR)
    requireDirectory('KEYSTONE_PROJECT_DIR', resolve(cwd, env.KEYSTONE_PROJECT_DIR), { mayBeMissing: false });
  const releases = env.KEYSTONE_K3D_RELEASE_URL;
  if (releases && !/^https?:$/.test(urlProtocol(releases)))
    throw new UsageError(
      `KEYSTONE_K3D_RELEASE_URL "${releases}" is not an http(s) URL`,
      'set it to the base URL of a k3d release mirror, e.g. https://github.com/k3d-io/k3d/releases/download, or unset it',
    );
}

function urlProtocol(text: string): string {
  try {
    return new URL(text).protocol;
  } catch {
    return '';
  }
}

function requireDirectory(name: string, path: string, o: { mayBeMissing: boolean }): void {
  let why: string | undefined;
  try {
    if (!statSync(path).isDirectory()) why = 'is not a directory';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') why = 'is under a file, not a directory';
    else if (code === 'ENOENT') why = o.mayBeMissing ? undefined : 'does not exist';
    else why = `cannot be read (${code ?? String(err)})`;
  }
  if (why)
    throw new UsageError(
      `${name}=${path} ${why}`,
      o.mayBeMissing
        ? `point ${name} at a directory (it is created when missing), or unset it`
        : `point ${name} at an existing directory, or unset it`,
    );
}
