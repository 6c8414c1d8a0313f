/** keystone's own directory: its k3d, its locks, its caches (bin/compile-cache.cjs finds it the same way). */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function keystoneHome(env: NodeJS.ProcessEnv): string {
  if (env.KEYSTONE_HOME) return env.KEYSTONE_HOME;
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'keystone');
}

/**
 * Writes one of keystone's cache files as JSON, whole: a temporary file renamed into place, so a
 * command running at the same time never reads half of one; readable by the user alone. A cache
 * only saves time, so a home that cannot be written is left as it is (the work is done again).
 */
export function saveCacheFile(file: string, value: unknown): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(value), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // a read-only home only means doing the work again next time
  }
}
