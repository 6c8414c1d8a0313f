// bin/compile-cache.cjs: V8's code cache for the CommonJS bundle. It may only ever save time: a
// missing, corrupted or foreign cache, an unwritable home and processes writing at once must all
// give the same output as compiling from source.
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp as makeTemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cliPath, repoRoot } from '../fakes/sandbox.mjs';

const cacheModule = resolve(repoRoot, 'bin', 'compile-cache.cjs');

/** The temporary directories this file made, removed at its end. */
const made: string[] = [];
const mkdtemp = async (prefix: string) => {
  const dir = await makeTemp(prefix);
  made.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A small bundle: a main chunk that requires another, as dist/ is laid out. */
async function fixture(buildId = 'b1') {
  const root = await mkdtemp(join(tmpdir(), 'keystone-v8-'));
  const dist = join(root, 'dist');
  await mkdir(join(dist, 'chunks'), { recursive: true });
  await writeFile(join(dist, 'build-id'), `${buildId}\n`);
  await writeFile(join(dist, 'chunks', 'part.cjs'), 'exports.square = (n) => n * n;\n');
  await writeFile(
    join(dist, 'main.cjs'),
    'const { square } = require("./chunks/part.cjs");\nexports.run = () => [1, 2, 3].map(square).join(",");\n',
  );
  // The runner prints the bundle's result and what the cache did.
  const runner = join(root, 'run.cjs');
  await writeFile(
    runner,
    `const { installCompileCache } = require(${JSON.stringify(cacheModule)});
const cache = installCompileCache(${JSON.stringify(dist)});
const out = require(${JSON.stringify(join(dist, 'main.cjs'))}).run();
cache.save();
console.log(JSON.stringify({ out, ...cache.stats }));\n`,
  );
  const home = join(root, 'home');
  const run = async (env: Record<string, string> = {}) => {
    const r = await execa(process.execPath, [runner], { env: { KEYSTONE_HOME: home, ...env }, extendEnv: false });
    return JSON.parse(r.stdout) as { out: string; hits: number; misses: number; written: number };
  };
  const cacheDir = async () => {
    const v8 = join(home, 'cache', 'v8');
    const [dir] = await readdir(v8);
    return join(v8, dir!);
  };
  return { root, dist, home, run, cacheDir };
}

describe('compile cache (bin/compile-cache.cjs)', () => {
  it("writes each chunk's code on the first run and uses it on the next, with the same result", async () => {
    const f = await fixture();
    expect(await f.run()).toEqual({ out: '1,4,9', hits: 0, misses: 2, written: 2 });
    expect(await f.run()).toEqual({ out: '1,4,9', hits: 2, misses: 0, written: 0 });
    const dir = await f.cacheDir();
    expect(dir).toContain(`${process.version}-${process.arch}-b1`);
    expect((await readdir(dir)).sort()).toEqual(['chunks_part.cjs.v8', 'main.cjs.v8']);
  });

  it("a new build does not use the old build's cache", async () => {
    const f = await fixture();
    await f.run();
    await writeFile(join(f.dist, 'build-id'), 'b2\n');
    await writeFile(join(f.dist, 'chunks', 'part.cjs'), 'exports.square = (n) => n * n * n;\n'); // same length: V8 alone would take the old code
    expect(await f.run()).toEqual({ out: '1,8,27', hits: 0, misses: 2, written: 2 });
  });

  it('a corrupted or truncated cache file is not used, and is replaced', async () => {
    const f = await fixture();
    await f.run();
    const dir = await f.cacheDir();
    const main = join(dir, 'main.cjs.v8');
    const data = await readFile(main);
    data[data.length - 5] = data[data.length - 5]! ^ 0xff; // one flipped byte in the code, length unchanged
    await writeFile(main, data);
    await writeFile(join(dir, 'chunks_part.cjs.v8'), data.subarray(0, 10));
    expect(await f.run()).toEqual({ out: '1,4,9', hits: 0, misses: 2, written: 2 });
    expect(await f.run()).toEqual({ out: '1,4,9', hits: 2, misses: 0, written: 0 });
  });

  it('an unwritable keystone home only means compiling from source', async () => {
    const f = await fixture();
    await writeFile(join(f.root, 'a-file'), '');
    // A home below a regular file cannot be created, even by root.
    const r = await f.run({ KEYSTONE_HOME: join(f.root, 'a-file', 'home') });
    expect(r).toEqual({ out: '1,4,9', hits: 0, misses: 2, written: 0 });
  });

  it('processes writing the cache at once all succeed and leave whole files', async () => {
    const f = await fixture();
    const results = await Promise.all(Array.from({ length: 6 }, () => f.run()));
    for (const r of results) expect(r.out).toBe('1,4,9');
    expect((await readdir(await f.cacheDir())).sort()).toEqual(['chunks_part.cjs.v8', 'main.cjs.v8']); // no temporary files left
    expect(await f.run()).toEqual({ out: '1,4,9', hits: 2, misses: 0, written: 0 });
  });

  it('a chunk required from several chunks, by different relative names, is one module; each has its own paths', async () => {
    const f = await fixture();
    // part.cjs counts its evaluations; two chunks require it, by "./part.cjs" and "../chunks/part.cjs".
    await writeFile(
      join(f.dist, 'chunks', 'part.cjs'),
      'globalThis.evaluated = (globalThis.evaluated ?? 0) + 1;\nexports.square = (n) => n * n;\nexports.paths = module.paths;\n',
    );
    await writeFile(
      join(f.dist, 'chunks', 'a.cjs'),
      'exports.part = require("./part.cjs");\nexports.paths = module.paths;\n',
    );
    await writeFile(
      join(f.dist, 'chunks', 'b.cjs'),
      'exports.part = require("../chunks/part.cjs");\nexports.paths = module.paths;\n',
    );
    await writeFile(
      join(f.dist, 'main.cjs'),
      `const a = require("./chunks/a.cjs"), b = require("./chunks/b.cjs"), again = require("./chunks/a.cjs");
const expected = require("node:module")._nodeModulePaths(${JSON.stringify(join(f.dist, 'chunks'))});
exports.run = () => [a.part === b.part, again === a, globalThis.evaluated,
  a.paths !== b.paths && a.paths !== a.part.paths, JSON.stringify(a.paths) === JSON.stringify(expected)].join(",");\n`,
    );
    // Compiled from source, then from the cache: the same modules either way.
    expect(await f.run()).toEqual({ out: 'true,true,1,true,true', hits: 0, misses: 4, written: 4 });
    expect(await f.run()).toEqual({ out: 'true,true,1,true,true', hits: 4, misses: 0, written: 0 });
  });

  it('the launcher caches the real bundle and prints the same with and without the cache', async () => {
    const root = await mkdtemp(join(tmpdir(), 'keystone-v8-cli-'));
    const env = { KEYSTONE_HOME: join(root, 'home'), HOME: root, PATH: '' }; // `completion bash` starts no tool
    const first = await execa(process.execPath, [cliPath, 'completion', 'bash'], { env, extendEnv: false });
    const v8 = join(root, 'home', 'cache', 'v8');
    const [dir] = await readdir(v8);
    expect((await readdir(join(v8, dir!))).some((name) => name.startsWith('main.cjs'))).toBe(true);
    const second = await execa(process.execPath, [cliPath, 'completion', 'bash'], { env, extendEnv: false });
    expect(second.stdout).toBe(first.stdout);
    expect(second.stdout).toContain('complete -');
  });
});
