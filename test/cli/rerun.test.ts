// keystone jobs rerun (issue 26): the same run again from its record: the same image digest (even
// after the tag moved), arguments and options, the input from the run's own copy; what must differ
// is said; what cannot be the same is refused before anything is submitted.
import { afterEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, runJobsOf, type Harness } from '../helpers/harness.js';
import { createLabCluster } from '../helpers/lab-cluster.js';

let h: Harness;
afterEach(async () => h?.cleanup());

const imageOf = (job: { spec: any }) => job.spec.template.spec.containers[0].image as string;
const runIdOf = (job: { metadata: { labels: Record<string, string> } }) => job.metadata.labels['keystone.io/run-id']!;
const recordOf = async (tool: string, id: string) =>
  JSON.parse(await readFile(join(h.project, 'data', tool, 'runs', id, 'run-record.json'), 'utf8'));
const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;
const lammpsImage = 'registry.example.com/lab/lammps:1.0';

async function dockerKnows(image: string, repoDigest: string): Promise<void> {
  const state = await h.state();
  state.docker.images = [...new Set([...state.docker.images, image])];
  state.docker.repoDigests = { ...state.docker.repoDigests, [image]: [repoDigest] };
  await h.setState(state);
}

describe('jobs rerun', () => {
  it("after the image tag has moved, reruns the same digest, arguments and options, with the input from the run's own copy", async () => {
    h = await createReadyHarness();
    await dockerKnows(lammpsImage, `registry.example.com/lab/lammps@${digestA}`);
    const first = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--image',
      lammpsImage,
      '--memory',
      '1Gi',
      '--retries',
      '1',
      '--env',
      'SEED=1',
      '--',
      '-var',
      'T',
      '2.0',
    ]);
    expect(first.exitCode, first.stderr).toBe(0);
    const [original] = runJobsOf(h);
    const id = runIdOf(original!);
    const originalInput = await readFile(join(h.project, 'data', 'lammps', 'in.lj'), 'utf8');
    // Since: the tag moved (a new image pushed and pulled), and the input file in data/ was edited.
    await dockerKnows(lammpsImage, `registry.example.com/lab/lammps@${digestB}`);
    h.cluster.registryTags.set(`${lammpsImage}`, digestB);
    await writeFile(join(h.project, 'data', 'lammps', 'in.lj'), `${originalInput}\n# edited afterwards\n`);

    const missingEnv = await h.run(['jobs', 'rerun', id]);
    expect(missingEnv.exitCode).toBe(2);
    expect(missingEnv.stderr).toContain(`run ${id} was given --env SEED, whose values are not recorded`);
    expect(missingEnv.stderr).toContain('--env SEED=…');
    expect(runJobsOf(h)).toHaveLength(1);

    const r = await h.run(['jobs', 'rerun', id, '--env', 'SEED=1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `Rerunning run ${id} (lammps in.lj) with image registry.example.com/lab/lammps@${digestA}`,
    );
    expect(r.stderr).not.toContain('differs from run');
    const rerun = runJobsOf(h).find((j) => runIdOf(j) !== id)!;
    const newId = runIdOf(rerun);
    expect(imageOf(rerun)).toBe(`registry.example.com/lab/lammps@${digestA}`); // the digest still runs
    const c = rerun.spec.template.spec.containers[0];
    expect(c.command).toEqual(original!.spec.template.spec.containers[0].command);
    expect(c.resources).toEqual(original!.spec.template.spec.containers[0].resources);
    expect(rerun.spec.backoffLimit).toBe(1);
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'SEED', value: '1' }]));
    // The input is the run's own copy as it was submitted, not the edited file.
    expect(await readFile(join(h.project, 'data', 'lammps', 'runs', newId, 'in.lj'), 'utf8')).toBe(originalInput);
    const record = await recordOf('lammps', newId);
    expect(record).toMatchObject({
      rerunOf: id,
      image: { ref: `registry.example.com/lab/lammps@${digestA}`, pinnedBy: 'digest' },
      outcome: { state: 'Succeeded', imageIds: [`registry.example.com/lab/lammps@${digestA}`] },
    });
    expect(record.input.sha256).toBe((await recordOf('lammps', id)).input.sha256);
    expect(record.argv).toEqual(['jobs', 'rerun', id, '--env', 'SEED=…']);
    // A new run of the tag now gets the new digest.
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', '--image', lammpsImage])).exitCode).toBe(0);
    expect(runJobsOf(h).map(imageOf)).toContain(`registry.example.com/lab/lammps@${digestB}`);
  });

  it('a sweep reruns as a sweep, each index with its values', async () => {
    h = await createReadyHarness();
    const first = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--sweep',
      'T=1.0,2.0',
      '--sweep',
      'N=1,2',
      '--parallel',
      '2',
    ]);
    expect(first.exitCode, first.stderr).toBe(0);
    const id = runIdOf(runJobsOf(h)[0]!);
    const r = await h.run(['jobs', 'rerun', id]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('a sweep of 4');
    const rerun = runJobsOf(h).find((j) => runIdOf(j) !== id)!;
    expect(rerun.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 2 });
    expect(rerun.metadata.annotations['keystone.io/sweep']).toBe(
      runJobsOf(h).find((j) => runIdOf(j) === id)!.metadata.annotations['keystone.io/sweep'],
    );
    expect(await readFile(join(h.project, 'data', 'lammps', 'runs', runIdOf(rerun), '3', 'params.env'), 'utf8')).toBe(
      await readFile(join(h.project, 'data', 'lammps', 'runs', id, '3', 'params.env'), 'utf8'),
    );
  });

  it('an image pinned by ID whose tag now names another image is refused, nothing submitted; --image accepts the new one and says so', async () => {
    h = await createReadyHarness();
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    const id = runIdOf(runJobsOf(h)[0]!);
    const was = (await recordOf('lammps', id)).image.id;
    // A one-line change to the image: rebuilt and imported, the tag names a new image ID.
    expect((await h.run(['import-images', 'keystone/lammps:0.1.0', '--build'])).exitCode).toBe(0);
    const r = await h.run(['jobs', 'rerun', id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `cannot rerun run ${id} with the same image: the tag keystone/lammps:0.1.0 now names another image`,
    );
    expect(r.stderr).toContain(`the run used ${was}`);
    expect(r.stderr).toContain('nothing was submitted');
    expect(runJobsOf(h)).toHaveLength(1);
    const accepted = await h.run(['jobs', 'rerun', id, '--image', 'keystone/lammps:0.1.0']);
    expect(accepted.exitCode, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain(`differs from run ${id}: the image is keystone/lammps:0.1.0 (--image)`);
  });

  it('a profile changed since is said, and the recorded one is used; an input copy changed since is refused', async () => {
    h = await createReadyHarness();
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    const id = runIdOf(runJobsOf(h)[0]!);
    const profiles = join(h.project, 'k8s', 'simulations', 'profiles.yaml');
    await writeFile(
      profiles,
      (await readFile(profiles, 'utf8')).replace(
        'command: ["lmp", "-in", "{input}", "{args}"]',
        'command: ["lmp", "-echo", "screen", "-in", "{input}", "{args}"]',
      ),
    );
    const r = await h.run(['jobs', 'rerun', id]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `differs from run ${id}: the lammps profile has changed since run ${id}: the rerun uses the recorded one`,
    );
    expect(
      runJobsOf(h).every(
        (j) => JSON.stringify(j.spec.template.spec.containers[0].command) === JSON.stringify(['lmp', '-in', 'in.lj']),
      ),
    ).toBe(true);
    // The run's own copy, edited: not the input it ran with.
    await writeFile(join(h.project, 'data', 'lammps', 'runs', id, '.keystone', 'input', 'in.lj'), 'changed\n');
    const bad = await h.run(['jobs', 'rerun', id]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain(
      `the input of run ${id} (data/lammps/runs/${id}/.keystone/input/in.lj) is not the one it ran with`,
    );
    expect(runJobsOf(h)).toHaveLength(2);
  });

  it('on another cluster (--context): a local run pinned by digest reruns there on a run volume; its record names the new context', async () => {
    let lab: string[];
    ({ h, lab } = await createLabCluster());
    h.cluster.readWriteMany = true;
    await dockerKnows(lammpsImage, `registry.example.com/lab/lammps@${digestA}`);
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', '--image', lammpsImage])).exitCode).toBe(0);
    const id = runIdOf(runJobsOf(h)[0]!);
    const r = await h.run(['jobs', 'rerun', id, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`differs from run ${id}: it runs on context lab; run ${id} ran on k3d-keystone-cluster`);
    const rerun = runJobsOf(h).find((j) => runIdOf(j) !== id)!;
    expect(imageOf(rerun)).toBe(`registry.example.com/lab/lammps@${digestA}`);
    expect(rerun.metadata.annotations['keystone.io/output-on']).toBe('volume');
    const show = JSON.parse((await h.run(['jobs', 'show', runIdOf(rerun), ...lab, '-o', 'json'])).stdout);
    expect(show.record).toMatchObject({ rerunOf: id, cluster: { context: 'lab', local: false } });
    expect(show.recordFile).toBeNull();
    // A run pinned by image ID (loaded into the keystone cluster's nodes) cannot run elsewhere.
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    const local = runJobsOf(h).find((j) => imageOf(j) === 'keystone/lammps:0.1.0')!;
    const refused = await h.run(['jobs', 'rerun', runIdOf(local), ...lab]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("it was loaded into the keystone cluster's nodes, which context lab is not");
  });

  it('a run of another cluster reruns from this machine once jobs fetch brought its directory (record and input copy)', async () => {
    let lab: string[];
    ({ h, lab } = await createLabCluster());
    h.cluster.readWriteMany = true;
    await dockerKnows(lammpsImage, `registry.example.com/lab/lammps@${digestA}`);
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', '--image', lammpsImage, ...lab])).exitCode).toBe(0);
    const id = runIdOf(runJobsOf(h)[0]!);
    const inLab = await h.run(['jobs', 'rerun', id, ...lab]);
    expect(inLab.exitCode).toBe(1);
    expect(inLab.stderr).toContain(
      `the input of run ${id} (its own copy, data/lammps/runs/${id}/.keystone/input/in.lj) is not on this machine`,
    );
    expect(inLab.stderr).toContain(`keystone jobs fetch ${id} --context lab`);
    expect((await h.run(['jobs', 'fetch', id, ...lab])).exitCode).toBe(0);
    const r = await h.run(['jobs', 'rerun', id]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`it runs on context k3d-keystone-cluster; run ${id} ran on lab`);
    const rerun = runJobsOf(h).find((j) => runIdOf(j) !== id)!;
    expect(imageOf(rerun)).toBe(`registry.example.com/lab/lammps@${digestA}`);
    expect(rerun.metadata.annotations['keystone.io/output-on']).toBe('host');
  });
});
