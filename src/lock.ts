/**
 * One cluster-changing command at a time (setup, start, stop, delete): a lock file keystone
 * creates atomically. A second command waits briefly, then says who holds the lock; a lock left
 * by a process that no longer exists is taken over.
 */
import { rmSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { KeystoneError } from './errors.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

export interface HeldLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

export async function acquireLock(path: string, command: string, options: { waitMs: number; onWait?: (holder: LockInfo) => void }): Promise<HeldLock> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      const info: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      let released = false;
      const releaseSync = () => {
        if (!released) {
          released = true;
          try {
            // Synchronous on exit paths, where promises no longer run.
            rmSync(path, { force: true });
          } catch {
            // nothing more to do
          }
        }
      };
      process.once('exit', releaseSync);
      return {
        async release() {
          process.off('exit', releaseSync);
          if (!released) {
            released = true;
            await rm(path, { force: true });
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readLock(path);
    if (!holder || (holder.host === hostname() && !alive(holder.pid))) {
      // A stale lock (its process is gone) or one torn mid-write: take it over.
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new KeystoneError(`another \`keystone ${holder.command}\` is running (pid ${holder.pid}, started ${holder.startedAt})`, {
        hint: `wait for it to finish; if no keystone is running, remove ${path}`,
      });
    }
    if (!announced) {
      announced = true;
      options.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs `body` holding the lock of one cluster (or context). */
export async function withClusterLock<T>(
  lockDir: string,
  name: string,
  command: string,
  onWait: (holder: LockInfo) => void,
  body: () => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(`${lockDir}/${name.replace(/[^a-zA-Z0-9._-]/g, '_')}.lock`, command, { waitMs: 5000, onWait });
  try {
    return await body();
  } finally {
    await lock.release();
  }
}
