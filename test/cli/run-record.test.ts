// Run records (issue 26): every run keeps what produced it, next to its outputs and in the cluster;
// `jobs show` prints it; a record edited by hand or missing is refused clearly.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createReadyHarness, repoRoot, runJobsOf, until, type Harness } from '../helpers/harness.js';
import { outputSchemas } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const runIdOf = (tool: string) =>
  runJobsOf(h).find((j) => j.metadata.labels['keystone.io/simulation'] === tool)!.metadata.labels[
    'keystone.io/run-id'
  ]!;
const recordPath = (tool: string, id: string) => join(h.project, 'data', tool, 'runs', id, 'run-record.json');

describe('run record', () => {
  it('keeps version, argv with --env names only, profile, pinned image, input SHA-256, cluster, nodes, times and exit code; jobs show prints it', async () => {
    const r = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--env',
      'API_TOKEN=s3cret-value',
      '--env=OMP_NUM_THREADS=4',
      '--memory',
      '1Gi',
      '--',
      '-var',
      'T',
      '2.0',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const id = runIdOf('lammps');
    const text = await readFile(recordPath('lammps', id), 'utf8');
    const [job] = runJobsOf(h);
    const annotation = job!.metadata.annotations['keystone.io/run-record']!;
    // Values are never recorded, in the file or in the cluster.
    for (const t of [text, annotation]) expect(t).not.toContain('s3cret-value');
    const record = JSON.parse(text);
    expect(record.argv).toEqual([
      'run-simulation',
      'lammps',
      'in.lj',
      '--env',
      'API_TOKEN=…',
      '--env=OMP_NUM_THREADS=…',
      '--memory',
      '1Gi',
      '--',
      '-var',
      'T',
      '2.0',
    ]);
    expect(record.env).toEqual(['API_TOKEN', 'OMP_NUM_THREADS']);
    expect(record.keystoneVersion).toBe(JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')).version);
    expect(record.profile.command).toEqual(['lmp', '-in', '{input}', '{args}']);
    expect(record.request).toMatchObject({ args: ['-var', 'T', '2.0'], memory: '1Gi', retries: 0, ranks: 1, nodes: 1 });
    expect(record.cluster).toMatchObject({ name: 'keystone-cluster', context: 'k3d-keystone-cluster', local: true });
    // The image k3d imported has no registry digest: pinned by Docker's image ID of the tag.
    expect(record.image).toMatchObject({
      requested: 'keystone/lammps:0.1.0',
      ref: 'keystone/lammps:0.1.0',
      digest: null,
      pinnedBy: 'image-id',
    });
    expect(record.image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    // sha256sum of the input file, as the documentation says.
    const { stdout } = await execa('sha256sum', [join(h.project, 'data', 'lammps', 'in.lj')]);
    expect(record.input).toMatchObject({
      name: 'in.lj',
      kind: 'file',
      path: 'lammps/in.lj',
      sha256: `sha256:${stdout.split(' ')[0]}`,
      files: 1,
    });
    // The end, written when the followed run ended: what the pod ran is the image ID (no RepoDigest).
    expect(record.outcome).toMatchObject({
      state: 'Succeeded',
      ended: 'succeeded',
      exitCode: 0,
      imageIds: [record.image.id],
    });
    expect(record.outcome.nodes).toHaveLength(1);
    expect(record.outcome.startedAt && record.outcome.finishedAt).toBeTruthy();
    // The cluster's copy is the same record (without the end, which the cluster shows live).
    expect({ ...JSON.parse(annotation), checksum: undefined }).toEqual({
      ...record,
      outcome: undefined,
      checksum: undefined,
    });

    const show = await h.run(['jobs', 'show', id]);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toContain(`run:       ${id} (lammps, Job lammps-${id})`);
    expect(show.stdout).toContain('state:     Succeeded, exit code 0; ended: succeeded');
    expect(show.stdout).toContain(
      'command:   keystone run-simulation lammps in.lj --env API_TOKEN=… --env=OMP_NUM_THREADS=… --memory 1Gi -- -var T 2.0',
    );
    expect(show.stdout).toContain('env:       API_TOKEN, OMP_NUM_THREADS (values are never recorded)');
    expect(show.stdout).toContain('keystone/lammps:0.1.0 (no registry digest: pinned by image ID');
    expect(show.stdout).toContain(`record:    data/lammps/runs/${id}/run-record.json and the cluster`);
    const json = await h.run(['jobs', 'show', id, '-o', 'json']);
    const doc = JSON.parse(json.stdout);
    expect(outputSchemas.jobsShow.safeParse(doc).error?.issues ?? []).toEqual([]);
    expect(doc).toMatchObject({
      inCluster: true,
      recordFile: `data/lammps/runs/${id}/run-record.json`,
      outcome: { state: 'Succeeded' },
    });
  });

  it('a directory input: SHA-256 of its sha256sum listing, as the documented command computes it', async () => {
    const r = await h.run(['run-simulation', 'openfoam', 'cavity']);
    expect(r.exitCode, r.stderr).toBe(0);
    const record = JSON.parse(await readFile(recordPath('openfoam', runIdOf('openfoam')), 'utf8'));
    const { stdout } = await execa(
      'sh',
      ['-c', "find -L . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"],
      { cwd: join(h.project, 'data', 'openfoam', 'cavity') },
    );
    expect(record.input.sha256).toBe(`sha256:${stdout.split(' ')[0]}`);
    expect(record.input.kind).toBe('directory');
    // The run's own copy of its input, as submitted, which rerun starts from.
    expect(
      existsSync(
        join(
          h.project,
          'data',
          'openfoam',
          'runs',
          record.runId,
          '.keystone',
          'input',
          'cavity',
          'system',
          'controlDict',
        ),
      ),
    ).toBe(true);
  });

  it('a detached run: jobs show reads its end from the cluster and writes it into the record; after jobs clean the file still answers', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '-d']);
    expect(r.exitCode, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(JSON.parse(await readFile(recordPath('lammps', id), 'utf8')).outcome).toBeUndefined();
    await until(() => runJobsOf(h)[0]?.status?.succeeded === 1, 'the run to end');
    expect((await h.run(['jobs', 'show', id])).exitCode).toBe(0);
    expect(JSON.parse(await readFile(recordPath('lammps', id), 'utf8')).outcome).toMatchObject({
      state: 'Succeeded',
      ended: 'succeeded',
    });
    expect((await h.run(['jobs', 'clean'])).exitCode).toBe(0);
    const show = await h.run(['jobs', 'show', id]);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toContain(`record:    data/lammps/runs/${id}/run-record.json\n`);
    expect(show.stdout).toContain('ended: succeeded');
  });

  it('a record edited by hand, or missing, is refused with a clear error', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(r.exitCode, r.stderr).toBe(0);
    const id = runIdOf('lammps');
    const path = recordPath('lammps', id);
    const original = await readFile(path, 'utf8');
    await writeFile(path, original.replace('"in.lj"', '"other.lj"'));
    let show = await h.run(['jobs', 'show', id]);
    expect(show.exitCode).toBe(1);
    expect(show.stderr).toContain(
      `the run record data/lammps/runs/${id}/run-record.json was changed after keystone wrote it (its checksum does not match)`,
    );
    expect(show.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await writeFile(path, original.slice(0, 200));
    show = await h.run(['jobs', 'show', id]);
    expect(show.exitCode).toBe(1);
    expect(show.stderr).toContain('is not valid JSON (cut short or edited by hand)');
    // Gone from the machine and from the cluster.
    await rm(path);
    expect((await h.run(['jobs', 'clean'])).exitCode).toBe(0);
    show = await h.run(['jobs', 'show', id]);
    expect(show.exitCode).toBe(1);
    expect(show.stderr).toContain(
      `no record of run ${id}: no run ${id} in context k3d-keystone-cluster, and no data/<tool>/runs/${id}/run-record.json on this machine`,
    );
    expect((await h.run(['jobs', 'show', 'nonsense'])).exitCode).toBe(2);
  });
});
