/** keystone's own directory: its k3d, its locks, its caches (bin/compile-cache.cjs finds it the same way). */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function keystoneHome(env: NodeJS.ProcessEnv): string {
  if (env.KEYSTONE_HOME) return env.KEYSTONE_HOME;
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'keystone');
}
