// Builds dist/ before any test runs: the end-to-end tests spawn bin/keystone.cjs, which loads
// dist/main.cjs, and a fresh clone has no dist/ (esbuild takes about a second).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

export default async function buildDist(): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: root });
}
