// The last step of scripts/build.mjs, in a module of its own so a test can stop between its steps.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

/**
 * Moves the build in `out` into `dist`, file by file (rename: each replaced at once), in an order
 * where every file a reader may open names only files already there; then removes what neither
 * this build nor the previous one has. `afterRename` (for the test of this, unit/build-install) is
 * called after each file has moved in, while the next has not.
 * @param {string} out
 * @param {string} dist
 * @param {{ afterRename?: (file: string, index: number, count: number) => Promise<void> }} [options]
 */
export async function install(out, dist, { afterRename = async () => {} } = {}) {
  const files = (await readdir(out, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(out, join(e.parentPath, e.name)));
  // Read last: the entry points (they require the chunks), the texts that name other files.
  const last = ['help/widths.json', 'completion-tree.json', 'complete.cjs', 'main.cjs', 'build-id', 'build-inputs'];
  const rank = (f) => last.indexOf(f);
  files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  let previous = [];
  try {
    previous = JSON.parse(await readFile(join(dist, 'build-files.json'), 'utf8'));
  } catch {
    // the first build with a list, or none yet: nothing older is known to be in use
  }
  for (const [index, file] of files.entries()) {
    await mkdir(dirname(join(dist, file)), { recursive: true });
    await rename(join(out, file), join(dist, file));
    await afterRename(file, index, files.length);
  }
  const keep = new Set([...files, ...previous, 'build-files.json']);
  for (const entry of await readdir(dist, { recursive: true, withFileTypes: true })) {
    const file = relative(dist, join(entry.parentPath, entry.name));
    if (entry.isFile() && !keep.has(file)) await rm(join(dist, file), { force: true });
  }
  await writeFile(join(out, 'build-files.json'), JSON.stringify(files));
  await rename(join(out, 'build-files.json'), join(dist, 'build-files.json'));
}
