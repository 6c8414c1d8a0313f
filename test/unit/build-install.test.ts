// A build (npm test builds dist/ first) must never break a keystone started from the same clone
// meanwhile (issue 22 #17: the build deleted dist/ first, and such a keystone failed with "Cannot
// find module"). Checked on a copy of the project, so this suite's own dist/ is not rebuilt twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { repoRoot } from '../fakes/sandbox.mjs';

let copy: string;
const env = () => ({ PATH: '', KEYSTONE_HOME: join(copy, '.keystone-home') });
const build = () =>
  execa(process.execPath, ['scripts/build.mjs'], {
    cwd: copy,
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
  for (const part of ['src', 'scripts', 'bin', 'package.json', 'tsconfig.json'])
    await cp(join(repoRoot, part), join(copy, part), { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
  const first = await build();
  expect(first.exitCode, first.stderr).toBe(0);
}, 120_000);
afterAll(async () => rm(copy, { recursive: true, force: true }));

describe('rebuilding dist/ while keystone runs from it', () => {
  it('every keystone started during a build works, and the next one runs the new build', async () => {
    // A change that gives the new build other chunk names than the one in dist/.
    const cli = join(copy, 'src', 'cli.ts');
    await writeFile(
      cli,
      (await readFile(cli, 'utf8')).replace(/list the stack(\\'|')s pods:/, 'list the stack$1s pods (rebuilt):'),
    );
    const before = await readdir(join(copy, 'dist', 'chunks'));
    const rebuilding = build();
    let finished = false;
    void rebuilding.finally(() => (finished = true));
    const during: { exitCode?: number; stderr: string }[] = [];
    do {
      // pods --help loads dist/main.cjs and the chunks that build the program (the launcher answers --version itself).
      const r = await keystone(['pods', '--help']);
      during.push({ exitCode: r.exitCode, stderr: String(r.stderr) });
    } while (!finished);
    const rebuilt = await rebuilding;
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(during.filter((r) => r.exitCode !== 0)).toEqual([]);
    expect((await keystone(['pods', '--help'])).stdout).toContain("list the stack's pods (rebuilt):");
    // No half-made build is left beside dist/, and the previous build's chunks stay for a keystone still running on them.
    expect((await readdir(copy)).filter((f) => f.startsWith('.dist-build-'))).toEqual([]);
    expect(before.filter((f) => !existsSync(join(copy, 'dist', 'chunks', f)))).toEqual([]);
    expect(JSON.parse(await readFile(join(copy, 'dist', 'build-files.json'), 'utf8'))).toContain('main.cjs');
  }, 180_000);
});
