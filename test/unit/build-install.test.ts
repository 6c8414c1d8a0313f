// A build (npm test builds dist/ first) must never break a keystone started from the same clone
// meanwhile (issue 22 #17: the build deleted dist/ first, and such a keystone failed with "Cannot
// find module"). Checked on a copy of the project, so this suite's own dist/ is not rebuilt twice:
// the build's last step (scripts/install-build.mjs, the only one that touches dist/) is run with a
// keystone started between its steps, rather than keystones started in a loop through the whole
// build, most of which ran while esbuild compiled and dist/ did not change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { repoRoot } from '../fakes/sandbox.mjs';
import { install } from '../../scripts/install-build.mjs';

let copy: string;
const env = () => ({ PATH: '', KEYSTONE_HOME: join(copy, '.keystone-home') });
const build = (cwd: string) =>
  execa(process.execPath, ['scripts/build.mjs'], {
    cwd,
    env: { PATH: process.env.PATH },
    extendEnv: false,
    reject: false,
  });
const keystone = (args: string[]) =>
  execa(process.execPath, [join(copy, 'bin', 'keystone.cjs'), ...args], {
    cwd: copy,
    env: env(),
    extendEnv: false,
    reject: false,
  });

beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), 'keystone-build-copy-'));
  // With the suite's own build (the global setup made it from these sources), not a build of its own.
  for (const part of ['src', 'scripts', 'bin', 'dist', 'package.json', 'tsconfig.json'])
    await cp(join(repoRoot, part), join(copy, part), { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
}, 120_000);
afterAll(async () => rm(copy, { recursive: true, force: true }));

describe('rebuilding dist/ while keystone runs from it', () => {
  it('a keystone started between any two steps of installing a build works, and the next one runs the new build', async () => {
    // The new build, made in a second copy with a change that gives it other chunk names.
    const next = `${copy}-next`;
    await cp(copy, next, { recursive: true, verbatimSymlinks: true });
    const cli = join(next, 'src', 'cli.ts');
    await writeFile(
      cli,
      (await readFile(cli, 'utf8')).replace(/list the stack(\\'|')s pods:/, 'list the stack$1s pods (rebuilt):'),
    );
    const rebuilt = await build(next);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    // A whole build leaves nothing half-made beside dist/.
    expect((await readdir(next)).filter((f) => f.startsWith('.dist-build-'))).toEqual([]);
    // What the build would move in: the new dist/ but its list of files, which install writes itself.
    const out = await mkdtemp(join(copy, '.dist-build-'));
    await cp(join(next, 'dist'), out, { recursive: true, filter: (f) => !f.endsWith('build-files.json') });
    await rm(next, { recursive: true, force: true });

    const before = await readdir(join(copy, 'dist', 'chunks'));
    // Started at a dozen points spread over the moves and after each of the last ones (the entry
    // points and the texts naming other files): pods --help loads dist/main.cjs and the chunks
    // that build the program (the launcher answers --version itself).
    const failed: string[] = [];
    let started = 0;
    await install(out, join(copy, 'dist'), {
      async afterRename(file: string, index: number, count: number) {
        if (index % Math.ceil(count / 12) !== 0 && index < count - 6) return;
        started += 1;
        const r = await keystone(['pods', '--help']);
        if (r.exitCode !== 0) failed.push(`after ${file} (${index + 1} of ${count}): ${r.stderr}`);
      },
    });
    await rm(out, { recursive: true, force: true });
    expect(started).toBeGreaterThan(12);
    expect(failed).toEqual([]);
    expect((await keystone(['pods', '--help'])).stdout).toContain("list the stack's pods (rebuilt):");
    // The previous build's chunks stay for a keystone still running on them.
    expect(before.filter((f) => !existsSync(join(copy, 'dist', 'chunks', f)))).toEqual([]);
    expect(JSON.parse(await readFile(join(copy, 'dist', 'build-files.json'), 'utf8'))).toContain('main.cjs');
  }, 180_000);
});
