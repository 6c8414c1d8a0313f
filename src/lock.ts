/**
 * One cluster-changing command at a time (setup, start, stop, delete): a lock file that appears
 * complete or not at all. The holder is written to a private temporary file first and then
 * hard-linked to the lock's name: link(2) fails with EEXIST when the name exists, so exactly one
 * contender wins, and nobody can read a lock file that is still empty (the old open('wx')-then-write
 * let a second process judge the empty file torn, delete it and take the lock too).
 * A second command waits briefly, then says who holds the lock; a lock left by a process that no
 * longer exists is taken over.
 */
import { rmSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { KeystoneError } from './errors.js';
import { systemClock, type Clock } from './clock.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface LockOptions {
  waitMs: number;
  onWait?: (holder: LockInfo) => void;
  /** Time for the wait and its retries (tests pass a fake one). */
  clock?: Clock;
  /** How often a waiting command looks again. */
  retryMs?: number;
}

/** A lock file that cannot be read as a holder is someone's only if it is this fresh. */
const unreadableGraceMs = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Seen = { holder: LockInfo | undefined; ino: number; mtimeMs: number } | undefined;

async function readLock(path: string): Promise<Seen> {
  try {
    const [info, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    let holder: LockInfo | undefined;
    try {
      holder = JSON.parse(text) as LockInfo;
    } catch {
      holder = undefined;
    }
    return { holder, ino: info.ino, mtimeMs: info.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates the lock file holding `info`, atomically; false when another holder has it. */
async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(info), { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes the lock file seen as stale, and only that one: it is renamed away first (one contender
 * wins the rename), and if what was renamed is not the file judged stale (another contender took
 * over in between), it is put back.
 */
async function removeStale(path: string, seen: NonNullable<Seen>): Promise<void> {
  const tomb = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, tomb);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
    throw err;
  }
  if ((await stat(tomb)).ino !== seen.ino) {
    await link(tomb, path).catch(() => undefined);
  }
  await rm(tomb, { force: true });
}

export async function acquireLock(path: string, command: string, options: LockOptions): Promise<HeldLock> {
  const clock = options.clock ?? systemClock;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = clock.now() + options.waitMs;
  let announced = false;
  for (;;) {
    const info: LockInfo = {
      pid: process.pid,
      host: hostname(),
      command,
      startedAt: new Date(clock.now()).toISOString(),
    };
    if (await tryCreate(path, info)) return held(path);
    const seen = await readLock(path);
    if (!seen) continue; // released just now: try again at once
    const { holder } = seen;
    const stale = holder
      ? holder.host === hostname() && !alive(holder.pid)
      : clock.now() - seen.mtimeMs > unreadableGraceMs;
    if (stale) {
      await removeStale(path, seen);
      continue;
    }
    if (clock.now() >= deadline) {
      throw new KeystoneError(
        holder
          ? `another \`keystone ${holder.command}\` is running (pid ${holder.pid}, started ${holder.startedAt})`
          : `another keystone holds the lock ${path}`,
        { hint: `wait for it to finish; if no keystone is running, remove ${path}` },
      );
    }
    if (!announced && holder) {
      announced = true;
      options.onWait?.(holder);
    }
    await clock.sleep(options.retryMs ?? 200);
  }
}

function held(path: string): HeldLock {
  let released = false;
  const releaseSync = () => {
    if (released) return;
    released = true;
    try {
      // Synchronous on exit paths, where promises no longer run.
      rmSync(path, { force: true });
    } catch {
      // nothing more to do
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
}

/** Runs `body` holding the lock of one cluster (or context). */
export async function withClusterLock<T>(
  lockDir: string,
  name: string,
  command: string,
  onWait: (holder: LockInfo) => void,
  body: () => Promise<T>,
  clock?: Clock,
): Promise<T> {
  const lock = await acquireLock(`${lockDir}/${name.replace(/[^a-zA-Z0-9._-]/g, '_')}.lock`, command, {
    waitMs: 5000,
    onWait,
    clock,
  });
  try {
    return await body();
  } finally {
    await lock.release();
  }
}
