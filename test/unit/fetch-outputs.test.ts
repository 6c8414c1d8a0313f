// jobs fetch's transfer logic (src/simulate/fetch-outputs.ts) against a real shell: the "pod" is a
// local directory and the commands (sh, find, wc, sha256sum, tail) really run, as in a helper pod.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fetchOutputs, listRemoteFiles, partSuffix, sha256OfFile, type PodShell } from '../../src/simulate/fetch-outputs.js';

let root: string;
let remote: string;
let local: string;
const calls: string[][] = [];

/** Runs argv in `remote`'s parent as a pod's shell would; stdout streamed into the given Writable. */
const localShell: PodShell = {
  run(argv, io: { stdout?: Writable; stdin?: Readable } = {}) {
    calls.push(argv);
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      if (io.stdout) child.stdout.pipe(io.stdout);
      else child.stdout.resume();
      child.on('error', reject);
      child.on('close', (code) => resolve({ exitCode: code ?? 1, stderr }));
    });
  },
};

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'keystone-fetch-'));
  remote = join(root, 'volume', 'lammps', 'runs', 'r1');
  local = join(root, 'local');
  await mkdir(join(remote, 'sub dir'), { recursive: true });
  calls.length = 0;
});
afterEach(async () => rm(root, { recursive: true, force: true }));

async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name).slice(dir.length + 1)] = await sha256OfFile(join(e.parentPath, e.name));
  }
  return out;
}

describe('jobs fetch transfer', () => {
  it('brings back byte-identical files, odd names and a file over 1 MiB included', async () => {
    await writeFile(join(remote, 'log.lammps'), 'Step Temp\n0 1.5\n');
    await writeFile(join(remote, 'sub dir', 'dump 1.bin'), randomBytes(3 * 1024 * 1024 + 17));
    await writeFile(join(remote, 'new\nline.txt'), 'x');
    await writeFile(join(remote, 'empty'), '');
    const report = await fetchOutputs(localShell, remote, local);
    expect(await tree(local)).toEqual(await tree(remote));
    expect(report).toMatchObject({ files: 4, skipped: 0, resumed: 0, transferred: 3 * 1024 * 1024 + 17 + 16 + 1 });
  });

  it('a second fetch transfers nothing; a changed file is fetched again', async () => {
    await writeFile(join(remote, 'a'), 'one');
    await writeFile(join(remote, 'b'), 'two');
    await fetchOutputs(localShell, remote, local);
    calls.length = 0;
    const again = await fetchOutputs(localShell, remote, local);
    expect(again).toMatchObject({ skipped: 2, transferred: 0 });
    expect(calls.filter((c) => c[0] === 'tail')).toEqual([]);
    await writeFile(join(remote, 'b'), 'TWO!');
    const third = await fetchOutputs(localShell, remote, local);
    expect(third).toMatchObject({ skipped: 1, transferred: 4 });
    expect(await readFile(join(local, 'b'), 'utf8')).toBe('TWO!');
  });

  it('resumes a partial file from its length, and starts over when the partial copy is wrong', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    await writeFile(join(remote, 'big'), data);
    await mkdir(local, { recursive: true });
    await writeFile(join(local, `big${partSuffix}`), data.subarray(0, 1_000_000));
    const resumed = await fetchOutputs(localShell, remote, local);
    expect(resumed).toMatchObject({ resumed: 1, transferred: data.length - 1_000_000 });
    expect(calls.find((c) => c[0] === 'tail')).toEqual(['tail', '-c', '+1000001', '--', `${remote}/big`]);
    expect((await readFile(join(local, 'big'))).equals(data)).toBe(true);
    expect(await readdir(local)).toEqual(['big']);

    await rm(join(local, 'big'));
    const wrong = Buffer.from(data.subarray(0, 500_000));
    wrong[10] = wrong[10]! ^ 0xff;
    await writeFile(join(local, `big${partSuffix}`), wrong);
    const redone = await fetchOutputs(localShell, remote, local);
    expect(redone.transferred).toBe(data.length - 500_000 + data.length);
    expect((await readFile(join(local, 'big'))).equals(data)).toBe(true);
  });

  it('streams a 100 MiB file without holding it in memory', async () => {
    const size = 100 * 1024 * 1024 + 5;
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(join(remote, 'field.bin'));
      const block = randomBytes(1024 * 1024);
      let written = 0;
      const more = () => {
        while (written < size) {
          const n = Math.min(block.length, size - written);
          written += n;
          if (!out.write(block.subarray(0, n))) return void out.once('drain', more);
        }
        out.end(resolve);
      };
      out.on('error', reject);
      more();
    });
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed)), 5);
    await fetchOutputs(localShell, remote, local);
    clearInterval(timer);
    expect((await stat(join(local, 'field.bin'))).size).toBe(size);
    expect(await sha256OfFile(join(local, 'field.bin'))).toBe(await sha256OfFile(join(remote, 'field.bin')));
    // Holding the file would add at least 100 MiB; streaming stays within a few chunks.
    expect(peak - (before.arrayBuffers + before.heapUsed)).toBeLessThan(40 * 1024 * 1024);
  });

  it('a run directory that is not on the volume is named, with what to do', async () => {
    await expect(fetchOutputs(localShell, join(root, 'volume', 'nope'), local)).rejects.toThrow(/is not on the volume/);
  });

  it('a listed path outside the run directory is refused before anything is written', async () => {
    const evil: PodShell = {
      async run(argv, io) {
        io?.stdout?.end(Buffer.from(`3 ${'0'.repeat(64)} ../../etc/x\0`));
        return { exitCode: 0, stderr: '' };
      },
    };
    await expect(listRemoteFiles(evil, remote)).rejects.toThrow(/outside the run directory/);
  });

  it('does not write through a symbolic link in the destination', async () => {
    await writeFile(join(remote, 'a'), 'one');
    await mkdir(local, { recursive: true });
    const { symlink } = await import('node:fs/promises');
    await writeFile(join(root, 'elsewhere'), 'keep');
    await symlink(join(root, 'elsewhere'), join(local, 'a'));
    await expect(fetchOutputs(localShell, remote, local)).rejects.toThrow(/symbolic link/);
    expect(await readFile(join(root, 'elsewhere'), 'utf8')).toBe('keep');
  });
});
