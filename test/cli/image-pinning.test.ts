// Pinning a run's image to a digest at submission (issue 26): the run's pod is given repo@sha256:…
// wherever the digest is known, `jobs -o wide` shows it, and a tag that moves later moves no run.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, runJobsOf, type Harness } from '../helpers/harness.js';
import { defaultRegistryDigest } from '../fakes/cluster-controllers.mjs';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const imageOf = (job: { spec: any }) => job.spec.template.spec.containers[0].image as string;
const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;

/** Docker on this machine pulled (or pushed) the image: it knows the registry digest. */
async function dockerKnows(image: string, repoDigest: string): Promise<void> {
  const state = await h.state();
  state.docker.images = [...state.docker.images, image];
  state.docker.repoDigests = { ...state.docker.repoDigests, [image]: [repoDigest] };
  await h.setState(state);
}

describe('pin by digest', () => {
  it('a tag Docker knows the registry digest of runs as repo@sha256; the pod runs exactly that; jobs -o wide shows it', async () => {
    await dockerKnows('registry.example.com/lab/lammps:1.0', `registry.example.com/lab/lammps@${digestA}`);
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--image', 'registry.example.com/lab/lammps:1.0']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [job] = runJobsOf(h);
    expect(imageOf(job!)).toBe(`registry.example.com/lab/lammps@${digestA}`);
    const id = job!.metadata.labels['keystone.io/run-id']!;
    const record = JSON.parse(await readFile(join(h.project, 'data', 'lammps', 'runs', id, 'run-record.json'), 'utf8'));
    expect(record.image).toMatchObject({
      requested: 'registry.example.com/lab/lammps:1.0',
      ref: `registry.example.com/lab/lammps@${digestA}`,
      digest: digestA,
      pinnedBy: 'digest',
      source: 'Docker on this machine (RepoDigests)',
    });
    expect(record.outcome.imageIds).toEqual([`registry.example.com/lab/lammps@${digestA}`]);
    const wide = await h.run(['jobs', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/OUTPUT\s+IMAGE$/);
    expect(wide.stdout).toContain(`registry.example.com/lab/lammps@${digestA}`);
    expect((await h.run(['jobs'])).stdout).not.toContain('IMAGE');
    const json = JSON.parse((await h.run(['jobs', '-o', 'json'])).stdout);
    expect(json[0].image).toBe(`registry.example.com/lab/lammps@${digestA}`);
  });

  it('an image the nodes pulled is pinned by the digest the kubelet reports for it (RepoDigests first in node status.images)', async () => {
    // The stack's redis was pulled from its registry by setup: its node entry lists repo@sha256 first.
    const redis = 'docker.io/library/redis:7.4.2-alpine';
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--image', redis]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(imageOf(runJobsOf(h)[0]!)).toBe(`docker.io/library/redis@${defaultRegistryDigest(redis)}`);
  });

  it('given as name@sha256, the digest is used as it is; a malformed digest is a usage error and nothing is submitted', async () => {
    const ok = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--image',
      `registry.example.com/lab/lammps@${digestB}`,
    ]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(imageOf(runJobsOf(h)[0]!)).toBe(`registry.example.com/lab/lammps@${digestB}`);
    const bad = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--image',
      'registry.example.com/lab/lammps@sha256:abc',
    ]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--image "registry.example.com/lab/lammps@sha256:abc" is not an image reference');
    expect(runJobsOf(h)).toHaveLength(1);
  });

  it('after the tag moves, a new run gets the new digest and the earlier run still names the old one', async () => {
    await dockerKnows('registry.example.com/lab/lammps:1.0', `registry.example.com/lab/lammps@${digestA}`);
    expect(
      (await h.run(['run-simulation', 'lammps', 'in.lj', '--image', 'registry.example.com/lab/lammps:1.0'])).exitCode,
    ).toBe(0);
    await dockerKnows('registry.example.com/lab/lammps:1.0', `registry.example.com/lab/lammps@${digestB}`); // docker pull of the moved tag
    expect(
      (await h.run(['run-simulation', 'lammps', 'in.lj', '--image', 'registry.example.com/lab/lammps:1.0'])).exitCode,
    ).toBe(0);
    const images = runJobsOf(h).map(imageOf).sort();
    expect(images).toEqual([
      `registry.example.com/lab/lammps@${digestA}`,
      `registry.example.com/lab/lammps@${digestB}`,
    ]);
  });
});
