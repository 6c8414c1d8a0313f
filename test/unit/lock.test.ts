// The cluster lock: one holder at a time, even among processes started at the same moment.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';
import { acquireLock } from '../../src/lock.js';
import type { Clock } from '../../src/clock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystone-lock-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

/** A clock that moves only when something sleeps on it: waits take no real time. */
function fakeClock(start = Date.parse('2026-01-01T00:00:00Z')): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('cluster lock', () => {
  it('many processes started at once: exactly one holds the lock at any time, and each gets it in turn (4 rounds each)', async () => {
    // The lock module bundled on its own, so plain node processes can use it.
    const lockModule = join(dir, 'lock.mjs');
    await build({
      entryPoints: [join(import.meta.dirname, '..', '..', 'src', 'lock.ts')],
      outfile: lockModule,
      bundle: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'warning',
    });
    const contender = join(dir, 'contender.mjs');
    await writeFile(
      contender,
      `import { acquireLock } from ${JSON.stringify(lockModule)};
import { appendFileSync, existsSync } from 'node:fs';
const [lockPath, logPath, goPath, readyPath] = process.argv.slice(2);
appendFileSync(readyPath, 'ready\\n');
while (!existsSync(goPath)) await new Promise((r) => setTimeout(r, 1));
for (let round = 0; round < 4; round++) {
  const lock = await acquireLock(lockPath, 'setup', { waitMs: 120000, retryMs: 2 });
  appendFileSync(logPath, 'enter ' + process.pid + '\\n');
  await new Promise((r) => setTimeout(r, 2));
  appendFileSync(logPath, 'exit ' + process.pid + '\\n');
  await lock.release();
}
`,
    );
    const lockPath = join(dir, 'locks', 'keystone-cluster.lock');
    const log = join(dir, 'holders.log');
    const go = join(dir, 'go');
    const ready = join(dir, 'ready');
    const count = 12;
    const children = Array.from({ length: count }, () =>
      execa(process.execPath, [contender, lockPath, log, go, ready], { reject: false }),
    );
    // All of them started and spinning on the go file, so they contend at once.
    const started = async () => (await readFile(ready, 'utf8').catch(() => '')).split('\n').length - 1;
    while ((await started()) < count) await new Promise((r) => setTimeout(r, 10));
    await writeFile(go, '');
    const results = await Promise.all(children);
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const events = (await readFile(log, 'utf8')).trim().split('\n');
    expect(events).toHaveLength(2 * 4 * count);
    for (let i = 0; i < events.length; i += 2) {
      const [enter, pid] = events[i]!.split(' ');
      expect(enter, `event ${i}: ${events.slice(0, i + 2).join(', ')}`).toBe('enter');
      expect(events[i + 1]).toBe(`exit ${pid}`); // nobody else entered while it held the lock
    }
    expect(existsSync(lockPath)).toBe(false);
  }, 60_000);

  it('a live holder: waits (announcing it once) until the deadline, then names the holder; no real time passes', async () => {
    const path = join(dir, 'x.lock');
    await writeFile(
      path,
      JSON.stringify({ pid: process.pid, host: hostname(), command: 'delete', startedAt: '2026-01-01T00:00:00.000Z' }),
    );
    const clock = fakeClock();
    const waits: string[] = [];
    const started = Date.now();
    await expect(
      acquireLock(path, 'setup', { waitMs: 5000, clock, onWait: (h) => waits.push(h.command) }),
    ).rejects.toThrow(`another \`keystone delete\` is running (pid ${process.pid}, started 2026-01-01T00:00:00.000Z)`);
    expect(waits).toEqual(['delete']);
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('takes over a lock whose process is gone, and one that cannot be read once it is old', async () => {
    const path = join(dir, 'x.lock');
    await writeFile(
      path,
      JSON.stringify({ pid: 999_999, host: hostname(), command: 'delete', startedAt: '2026-01-01T00:00:00Z' }),
    );
    let lock = await acquireLock(path, 'setup', { waitMs: 0, clock: fakeClock() });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, command: 'setup' });
    await lock.release();
    expect(existsSync(path)).toBe(false);

    // Unreadable (written by something else, or cut short by a full disk): someone's while fresh ...
    await writeFile(path, '{"pid": 12');
    await expect(acquireLock(path, 'setup', { waitMs: 1000, clock: fakeClock(Date.now()) })).rejects.toThrow(
      `another keystone holds the lock ${path}`,
    );
    // ... and taken over once old.
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    lock = await acquireLock(path, 'setup', { waitMs: 0, clock: fakeClock(Date.now()) });
    await lock.release();
  });
});
