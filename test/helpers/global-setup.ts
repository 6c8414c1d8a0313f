// Before any test runs: builds dist/ (the end-to-end tests spawn bin/keystone.cjs, which loads
// dist/main.cjs, and a fresh clone has no dist/; esbuild takes about a second), and makes the
// directory every temporary file of this run goes to, removed when the run ends.
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export default async function globalSetup(): Promise<() => void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // Unless dist/ was built from these very sources (as `npm ci` leaves it): compared by content.
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root });
  // Sandboxes, fake volumes, fetched runs and the unit tests' files go to os.tmpdir(), which the
  // workers inherit as TMPDIR: one directory of this run, so whatever a test leaves (or a run cut
  // short) goes with it. On a tmpfs /dev/shm with room to spare they cost no disk writes (a tenth
  // less CPU for the suite here, a third less system time); an explicit TMPDIR wins, and a small
  // /dev/shm (a container's 64 MB) is not used.
  const base = process.env.TMPDIR || (roomyTmpfs('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = mkdtempSync(join(base, 'keystone-suite-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}

function roomyTmpfs(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    const fs = statfsSync(dir);
    return fs.type === 0x01021994 /* TMPFS_MAGIC */ && fs.bavail * fs.bsize >= 2 * 1024 ** 3;
  } catch {
    return false;
  }
}
