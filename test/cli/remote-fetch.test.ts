// jobs fetch: a run's outputs from its volume on another cluster (the fake runs the real find,
// sha256sum, tar and tail on the claim's backing directory), verified, resumable, streamed.
// The runs themselves: remote-volume.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReadStream, createWriteStream, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join, relative } from 'node:path';
import { repoRoot, runJobsOf, type Harness } from '../helpers/harness.js';
import { createLabCluster, helperPodsOf } from '../helpers/lab-cluster.js';

let h: Harness;
let lab: string[];
beforeEach(async () => ({ h, lab } = await createLabCluster()));
afterEach(async () => h?.cleanup());

const runJobs = () => runJobsOf(h);
const helperPods = () => helperPodsOf(h);
/** A run's directory on the shared volume, as the fake cluster keeps it. */
const remoteRunDir = (tool: string, runId: string) =>
  join(h.api.claimDir('keystone', 'keystone-data'), tool, 'runs', runId);

describe('the outputs of runs on another cluster come back (jobs fetch)', () => {
  it('jobs fetch brings the outputs back byte for byte (one over 1 MiB, odd names), verified; a re-run transfers only what is missing or different; a partial file resumes', async () => {
    h.cluster.readWriteMany = true;
    const dump = randomBytes(2 * 1024 * 1024 + 3);
    h.cluster.program = (pod: any) => {
      const runDir = remoteRunDir('lammps', pod.metadata.labels['keystone.io/run-id']);
      writeFileSync(join(runDir, 'log.lammps'), 'Step Temp\n0 1.5\n');
      writeFileSync(join(runDir, 'dump.bin'), dump);
      writeFileSync(join(runDir, 'odd name\nwith newline.txt'), 'odd\n');
      return { lines: ['done'], exitCode: 0 };
    };
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const remote = remoteRunDir('lammps', runId);
    const local = join(h.project, 'data', 'lammps', 'runs', runId);
    const execs = (script: string) =>
      h.api.requests
        .filter((q: any) => q.path.endsWith('/exec'))
        .map((q: any) => new URLSearchParams(q.query).getAll('command'))
        .filter((c: string[]) => c[3] === script);
    const batches = () => execs('keystone-fetch-batch').map((c) => c.slice(5));
    const fetches = () => execs('keystone-fetch');

    const r = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await tree(local)).toEqual(await tree(remote));
    expect((await readFile(join(local, 'dump.bin'))).equals(dump)).toBe(true);
    // The run's own copy of its input (.keystone/input/) comes along; its record from the run's annotation.
    expect(r.stderr).toContain(
      `Fetched run ${runId}: 5 files (2.0 MiB) verified in data/lammps/runs/${runId}; 5 transferred`,
    );
    expect(batches()).toEqual([
      ['./.keystone/input/in.lj', './dump.bin', './in.lj', './log.lammps', './odd name\nwith newline.txt'],
    ]); // one tar stream for all
    const record = JSON.parse(await readFile(join(local, 'run-record.json'), 'utf8'));
    expect(record).toMatchObject({
      runId,
      cluster: { context: 'lab', local: false },
      outcome: { state: 'Succeeded', ended: 'succeeded' },
    });
    expect(fetches()).toEqual([]);
    expect(helperPods()).toEqual([]);

    // Again, after one file changed here (same size) and one went missing: those two only.
    const changed = Buffer.from(dump);
    changed[1000] = changed[1000]! ^ 0xff;
    await writeFile(join(local, 'dump.bin'), changed);
    await writeFile(join(local, 'log.lammps'), '');
    await import('node:fs/promises').then((fs) => fs.rm(join(local, 'odd name\nwith newline.txt')));
    // Files here that differ are never replaced without --force (issue 22 #4): all are named, nothing is written.
    const refused = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `error: 2 files already there with other content would be overwritten: data/lammps/runs/${runId}/dump.bin, data/lammps/runs/${runId}/log.lammps; nothing was written`,
    );
    expect(refused.stderr).toContain(
      'hint: move them away, choose another directory (--to), or pass --force to overwrite them',
    );
    expect(existsSync(join(local, 'odd name\nwith newline.txt'))).toBe(false);
    expect(helperPods()).toEqual([]);
    const again = await h.run(['jobs', 'fetch', runId, ...lab, '--force']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(batches().slice(1)).toEqual([['./dump.bin', './log.lammps', './odd name\nwith newline.txt']]);
    expect(again.stderr).toContain('3 transferred');
    expect(await tree(local)).toEqual(await tree(remote));

    // An interrupted transfer left the first MiB of dump.bin: only the rest is asked for.
    await import('node:fs/promises').then((fs) => fs.rm(join(local, 'dump.bin')));
    await writeFile(join(local, 'dump.bin.keystone-part'), dump.subarray(0, 1024 * 1024));
    const resumed = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(fetches()).toEqual([
      [
        'sh',
        '-c',
        'cd -- "$1" && exec tail -c +"$3" -- "$2"',
        'keystone-fetch',
        `/keystone-data/lammps/runs/${runId}`,
        './dump.bin',
        String(1024 * 1024 + 1),
      ],
    ]);
    expect(batches()).toHaveLength(2); // nothing else was asked for
    expect(resumed.stderr).toContain('1 transferred (1.0 MiB, 1 resumed)');
    expect((await readFile(join(local, 'dump.bin'))).equals(dump)).toBe(true);
    expect(existsSync(join(local, 'dump.bin.keystone-part'))).toBe(false);

    // A part that is not a prefix of the file (the file changed since): refetched whole, then verified.
    await import('node:fs/promises').then((fs) => fs.rm(join(local, 'dump.bin')));
    await writeFile(join(local, 'dump.bin.keystone-part'), randomBytes(1000));
    expect((await h.run(['jobs', 'fetch', runId, ...lab])).exitCode).toBe(0);
    expect((await readFile(join(local, 'dump.bin'))).equals(dump)).toBe(true);

    // --to DIR
    const to = join(h.root, 'elsewhere');
    expect((await h.run(['jobs', 'fetch', runId, '--to', to, ...lab])).exitCode).toBe(0);
    expect(await tree(to)).toEqual(await tree(remote));
  });

  it('jobs fetch cut off in the middle of a file: exit 1 with the part kept; the next fetch resumes it from where it stopped', async () => {
    h.cluster.readWriteMany = true;
    const dump = randomBytes(6 * 1024 * 1024);
    h.cluster.program = (pod: any) => {
      writeFileSync(join(remoteRunDir('lammps', pod.metadata.labels['keystone.io/run-id']), 'dump.bin'), dump);
      return { lines: ['done'], exitCode: 0 };
    };
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const local = join(h.project, 'data', 'lammps', 'runs', runId);
    h.api.dropExecAfterOutputBytes = 2 * 1024 * 1024;
    const cut = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(cut.exitCode).toBe(1);
    expect(existsSync(join(local, 'dump.bin'))).toBe(false);
    const kept = (await stat(join(local, 'dump.bin.keystone-part'))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(dump.length);
    expect(helperPods()).toEqual([]);

    const resumed = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('1 resumed');
    const tail = h.api.requests
      .filter((q: any) => q.path.endsWith('/exec') && q.query.includes('keystone-fetch&'))
      .map((q: any) => new URLSearchParams(q.query).getAll('command'));
    expect(tail.at(-1)!.slice(-2)).toEqual(['./dump.bin', String(kept + 1)]);
    expect((await readFile(join(local, 'dump.bin'))).equals(dump)).toBe(true);
  });

  it('jobs fetch streams a 96 MiB file without holding it in memory (peak RSS of the keystone process while it writes the file)', async () => {
    h.cluster.readWriteMany = true;
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const big = join(remoteRunDir('lammps', runId), 'traj.bin');
    const size = 96 * 1024 * 1024;
    const out = createWriteStream(big);
    const block = randomBytes(1024 * 1024);
    for (let i = 0; i < size / block.length; i++) {
      block[0] = i & 0xff; // every MiB differs
      if (!out.write(Buffer.from(block))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    // A real keystone process, sampling its own resident memory (a preload, as test/fakes/fs-faults.cjs is)
    // from the moment it opens traj.bin to write it: what it had loaded and read before is not the file's.
    const probe = join(h.root, 'rss-probe.cjs');
    const peakFile = join(h.root, 'rss.json');
    await writeFile(
      probe,
      `const fs = require('node:fs'); const open = fs.createWriteStream; let base; let peak = 0;
fs.createWriteStream = function (path, ...rest) {
  if (base === undefined && String(path).includes('traj.bin')) {
    base = peak = process.memoryUsage().rss;
    setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 2).unref();
  }
  return open.call(this, path, ...rest);
};
process.on('exit', () => fs.writeFileSync(${JSON.stringify(peakFile)}, JSON.stringify({ base, peak: Math.max(peak, process.memoryUsage().rss) })));\n`,
    );
    const r = await h.runProcess(['jobs', 'fetch', runId, ...lab], {
      env: { NODE_OPTIONS: `--require ${probe}` },
      timeoutMs: 120_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const local = join(h.project, 'data', 'lammps', 'runs', runId, 'traj.bin');
    expect((await stat(local)).size).toBe(size);
    expect(await sha256(local)).toBe(await sha256(big));
    const { base, peak } = JSON.parse(await readFile(peakFile, 'utf8')) as { base: number; peak: number };
    console.log(
      `jobs fetch of ${size / 1024 / 1024} MiB: RSS ${Math.round(base / 1048576)} MiB at start, peak ${Math.round(peak / 1048576)} MiB`,
    );
    expect(base, 'the probe saw traj.bin opened for writing').toBeGreaterThan(0);
    // Streaming grows it by a steady ~40 MiB (buffers in flight, the heap's young generation) whatever
    // the size; holding the file would need more than the whole size.
    expect(peak - base).toBeLessThan(size * 0.6);
  }, 180_000);

  it('jobs fetch brings many small files in a few tar streams, not one exec each', async () => {
    h.cluster.readWriteMany = true;
    h.cluster.program = (pod: any) => {
      const runDir = remoteRunDir('openfoam', pod.metadata.labels['keystone.io/run-id']);
      for (let t = 0; t < 40; t++) {
        mkdirSync(join(runDir, 'cavity', `0.${t}`), { recursive: true });
        for (const field of ['U', 'p', 'phi', 'nut', 'k'])
          writeFileSync(join(runDir, 'cavity', `0.${t}`, `${field}-${'long-name-'.repeat(4)}`), `${t} ${field}\n`);
      }
      return { lines: ['done'], exitCode: 0 };
    };
    expect((await h.run(['run-simulation', 'openfoam', 'cavity', ...lab])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const r = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    const local = join(h.project, 'data', 'openfoam', 'runs', runId);
    const remoteTree = await tree(remoteRunDir('openfoam', runId));
    expect(Object.keys(remoteTree).length).toBeGreaterThan(200);
    expect(await tree(local)).toEqual(remoteTree);
    const execs = h.api.requests.filter((q: any) => q.path.endsWith('/exec')).length;
    expect(execs).toBeGreaterThan(2); // manifest and more than one batch...
    expect(execs).toBeLessThan(12); // ...but not one per file
  });

  it("jobs fetch --to: a user's edited file is never overwritten without --force; a file or an unwritable directory is refused before the helper pod is made (issue 22 #4)", async () => {
    h.cluster.readWriteMany = true;
    h.cluster.program = (pod: any) => {
      const runDir = remoteRunDir('lammps', pod.metadata.labels['keystone.io/run-id']);
      writeFileSync(join(runDir, 'log.lammps'), 'Step Temp\n0 1.5\n');
      return { lines: ['done'], exitCode: 0 };
    };
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const results = join(h.project, 'results');
    mkdirSync(results);
    writeFileSync(join(results, 'in.lj'), '# my edited input\n');
    const podsBefore = h.api.requests.filter((q: any) => q.method === 'POST' && q.path.endsWith('/pods')).length;
    const helpersMade = () =>
      h.api.requests.filter((q: any) => q.method === 'POST' && q.path.endsWith('/pods')).length - podsBefore;

    const refused = await h.run(['jobs', 'fetch', runId, ...lab, '--to', 'results']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      'error: a file already there with other content would be overwritten: results/in.lj; nothing was written',
    );
    expect(await readFile(join(results, 'in.lj'), 'utf8')).toBe('# my edited input\n');
    expect(existsSync(join(results, 'log.lammps'))).toBe(false);
    expect(helperPods()).toEqual([]);

    const forced = await h.run(['jobs', 'fetch', runId, ...lab, '--to', 'results', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await readFile(join(results, 'log.lammps'), 'utf8')).toBe('Step Temp\n0 1.5\n');
    expect(await readFile(join(results, 'in.lj'), 'utf8')).not.toBe('# my edited input\n');
    const made = helpersMade();

    // --to an existing regular file: a usage error, no stack trace, no helper pod.
    writeFileSync(join(h.project, 'afile'), 'x');
    const toFile = await h.run(['jobs', 'fetch', runId, ...lab, '--to', 'afile']);
    expect(toFile.exitCode).toBe(2);
    expect(toFile.stderr).toContain('error: afile is not a directory');
    expect(toFile.stderr).not.toMatch(/\n\s+at /);
    // --to a directory that cannot be written (EACCES, as for a non-root user): said, and no helper pod.
    const locked = join(h.project, 'locked');
    const faults = {
      NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'fakes', 'fs-faults.cjs')}`,
      KEYSTONE_FS_FAULTS: `writeFile:EACCES:${locked}`,
    };
    const unwritable = await h.run(['jobs', 'fetch', runId, ...lab, '--to', 'locked'], { env: faults });
    expect(unwritable.exitCode).toBe(1);
    expect(unwritable.stderr).toContain('error: could not write in locked: permission denied (locked)');
    expect(unwritable.stderr).not.toMatch(/\n\s+at |Unhandled 'error'/);
    expect(helpersMade()).toBe(made);
    expect(helperPods()).toEqual([]);
  });

  it('jobs fetch: a symlink put in place of a destination directory while a file is on its way leads nothing out of data/ or --to DIR, and a file put there meanwhile is not overwritten (issue 22 #4, #5)', async () => {
    h.cluster.readWriteMany = true;
    const dump = randomBytes(64 * 1024);
    h.cluster.program = (pod: any) => {
      const runDir = remoteRunDir('lammps', pod.metadata.labels['keystone.io/run-id']);
      mkdirSync(join(runDir, 'sub'));
      writeFileSync(join(runDir, 'sub', 'dump.bin'), dump);
      return { lines: ['done'], exitCode: 0 };
    };
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const outside = join(h.root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'mine.txt'), 'mine\n');
    const outsideBefore = await tree(outside);
    // An earlier fetch stopped in the middle of sub/dump.bin: this one resumes it alone (tail -c
    // +N), after the directory was made and checked; while that transfer is held, `meanwhile` acts.
    const fetchWhile = async (dest: string, args: string[], meanwhile: () => Promise<void>) => {
      mkdirSync(join(dest, 'sub'), { recursive: true });
      writeFileSync(join(dest, 'sub', 'dump.bin.keystone-part'), dump.subarray(0, 1000));
      const held = h.api.holdRequest(
        1,
        (q: { path: string; query: URLSearchParams }) =>
          q.path.endsWith('/exec') && q.query.getAll('command')[3] === 'keystone-fetch',
        { exec: true },
      );
      const running = h.run(['jobs', 'fetch', runId, ...lab, ...args]);
      await held.reached;
      await meanwhile();
      held.release();
      return running;
    };
    const linkOut = (dest: string) => async () => {
      await rename(join(dest, 'sub'), join(dest, 'sub-moved'));
      await symlink(outside, join(dest, 'sub'));
    };

    const local = join(h.project, 'data', 'lammps', 'runs', runId);
    const inData = await fetchWhile(local, [], linkOut(local));
    expect(inData.exitCode).toBe(1);
    expect(inData.stderr).toContain(
      `error: data/lammps/runs/${runId}/sub is outside data (data/lammps/runs/${runId}/sub leads to ${realpathSync(outside)})`,
    );
    expect(inData.stderr).not.toMatch(/\n\s+at /);
    expect(await tree(outside)).toEqual(outsideBefore);
    expect(helperPods()).toEqual([]);

    const results = join(h.project, 'results');
    const inTo = await fetchWhile(results, ['--to', 'results'], linkOut(results));
    expect(inTo.exitCode).toBe(1);
    expect(inTo.stderr).toContain(
      `error: results/sub is outside results (results/sub leads to ${realpathSync(outside)})`,
    );
    expect(await tree(outside)).toEqual(outsideBefore);
    expect(helperPods()).toEqual([]);

    // A file the user put where the fetched one goes, after the fetch checked: kept, unless --force.
    const mine = join(h.project, 'mine');
    const kept = await fetchWhile(mine, ['--to', 'mine'], () => writeFile(join(mine, 'sub', 'dump.bin'), 'my own\n'));
    expect(kept.exitCode).toBe(1);
    expect(kept.stderr).toContain(
      'error: mine/sub/dump.bin already exists with other content; keystone does not overwrite it',
    );
    expect(await readFile(join(mine, 'sub', 'dump.bin'), 'utf8')).toBe('my own\n');
    const forced = await h.run(['jobs', 'fetch', runId, ...lab, '--to', 'mine', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect((await readFile(join(mine, 'sub', 'dump.bin'))).equals(dump)).toBe(true);
    expect(existsSync(join(mine, 'sub', 'dump.bin.keystone-part'))).toBe(false);
  });

  it('jobs fetch of a run on the keystone cluster says its outputs are already here', async () => {
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const r = await h.run(['jobs', 'fetch', runId]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`its outputs are already on this machine, in data/lammps/runs/${runId}`);
    expect((await h.run(['jobs', 'fetch', 'nope'])).exitCode).toBe(2);
  });
});

/** The files under dir and their SHA-256; not the run record, which fetch writes from the cluster (not from the volume). */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (relative(dir, path) === 'run-record.json') continue;
    out[relative(dir, path)] = await sha256(path);
  }
  return out;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
