// keystone push-images (issue 26): keystone's images through a registry, remembered in the cluster,
// so runs and the stack use them pinned by digest without --image; a registry that refuses the push
// changes nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { runJobsOf, type Harness } from '../helpers/harness.js';
import { createLabCluster } from '../helpers/lab-cluster.js';

let h: Harness;
let lab: string[];
afterEach(async () => h?.cleanup());

const imageOf = (job: { spec: any }) => job.spec.template.spec.containers[0].image as string;
const record = () => h.api.get('configmaps', 'keystone', 'keystone-images');

describe('push-images', () => {
  it('the k3d cluster: pushes to localhost:<hostPort>, remembers keystone-registry:5000 in the cluster; runs and the stack use the pushed digests; the rebuild loop; setup stays on the registry', async () => {
    ({ h, lab } = await createLabCluster());
    const dry = await h.run(['push-images', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/docker push localhost:\d+\/keystone\/lammps:0\.1\.0/);
    expect(record()).toBeUndefined();
    expect((await h.state()).docker.pushes).toBeUndefined();
    const r = await h.run(['push-images']);
    expect(r.exitCode, r.stderr).toBe(0);
    // The sandbox's k3d config publishes the registry on a free port (k8s/configs says 5000).
    const data = record().data;
    expect(data).toMatchObject({
      pushTo: expect.stringMatching(/^localhost:\d+$/),
      pullFrom: 'keystone-registry:5000',
    });
    const host = data.pushTo;
    const docker = (await h.calls('docker')).map((c) => c.slice(1));
    expect(docker).toContainEqual(['tag', 'keystone/lammps:0.1.0', `${host}/keystone/lammps:0.1.0`]);
    expect(docker).toContainEqual(['push', `${host}/keystone/lammps:0.1.0`]);
    expect(docker).toContainEqual(['push', `${host}/keystone-celery-worker:0.1.0`]);
    const pushes: { target: string; digest: string }[] = (await h.state()).docker.pushes;
    const lammpsDigest = pushes.find((p) => p.target === `${host}/keystone/lammps:0.1.0`)!.digest;
    expect(JSON.parse(data.images)['keystone/lammps:0.1.0']).toMatchObject({
      ref: 'keystone-registry:5000/keystone/lammps:0.1.0',
      digest: lammpsDigest,
    });

    // A run without --image: the template's image, pinned by the pushed digest, pulled by the nodes.
    const run = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(imageOf(runJobsOf(h)[0]!)).toBe(`keystone-registry:5000/keystone/lammps@${lammpsDigest}`);
    const show = JSON.parse(
      (await h.run(['jobs', 'show', runJobsOf(h)[0]!.metadata.labels['keystone.io/run-id']!, '-o', 'json'])).stdout,
    );
    expect(show.record.image).toMatchObject({
      pinnedBy: 'digest',
      digest: lammpsDigest,
      source: "the cluster's image record (keystone push-images)",
    });

    // The stack: apply gives the deployments the pushed references; the run templates keep their
    // tags, which each run resolves through the cluster's record when it is submitted.
    expect((await h.run(['apply'])).exitCode).toBe(0);
    expect(imageOf(h.api.get('deployments', 'keystone', 'celery-worker'))).toMatch(
      /^keystone-registry:5000\/keystone-celery-worker@sha256:[0-9a-f]{64}$/,
    );
    expect(imageOf(h.api.get('jobs', 'keystone', 'lammps-template'))).toBe('keystone/lammps:0.1.0');

    // The rebuild loop: a rebuilt image is pushed (only its new layers travel) and new runs get its digest.
    expect((await h.run(['push-images', 'lammps', '--build'])).exitCode).toBe(0);
    const rebuilt = (await h.state()).docker.pushes.at(-1).digest;
    expect(rebuilt).not.toBe(lammpsDigest);
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    expect(runJobsOf(h).map(imageOf)).toContain(`keystone-registry:5000/keystone/lammps@${rebuilt}`);
    // And setup keeps the cluster on its registry: it pushes, it does not import.
    await h.clearCalls();
    const setup = await h.run(['setup']);
    expect(setup.exitCode, setup.stderr).toBe(0);
    expect(setup.stderr).toContain(`to ${host} (the cluster's registry)`);
    const calls = await h.calls();
    expect(calls.some((c) => c[0] === 'k3d' && c[1] === 'image')).toBe(false);
    expect(calls.filter((c) => c[0] === 'docker' && c[1] === 'push')).toHaveLength(4);
    expect(lab).toBeTruthy();
  });

  it('another cluster: names its registry once (remembered in the cluster); a clean machine then runs there without --image', async () => {
    ({ h, lab } = await createLabCluster());
    h.cluster.readWriteMany = true;
    const unnamed = await h.run(['push-images', ...lab]);
    expect(unnamed.exitCode).toBe(2);
    expect(unnamed.stderr).toContain("context lab has no registry for keystone's images yet");
    expect(unnamed.stderr).toContain('--registry ghcr.io/your-group');
    const r = await h.run([
      'push-images',
      'keystone/lammps:0.1.0',
      ...lab,
      '--registry',
      'registry.lab.example:5000/sim',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const digest = (await h.state()).docker.pushes[0].digest;
    expect(record().data).toMatchObject({
      pushTo: 'registry.lab.example:5000/sim',
      pullFrom: 'registry.lab.example:5000/sim',
    });

    // A clean machine: Docker has no images at all and knows no digest; the cluster's record answers.
    const state = await h.state();
    state.docker.images = [];
    state.docker.repoDigests = {};
    await h.setState(state);
    h.cluster.nodeImages.clear();
    h.cluster.publishNodeImages();
    const run = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(imageOf(runJobsOf(h)[0]!)).toBe(`registry.lab.example:5000/sim/keystone/lammps@${digest}`);
    // Later pushes go to the remembered registry without naming it.
    expect((await h.run(['push-images', 'keystone/lammps:0.1.0', ...lab])).exitCode).toBe(0);
    expect((await h.state()).docker.pushes.at(-1).target).toBe('registry.lab.example:5000/sim/keystone/lammps:0.1.0');
  });

  it("a registry that refuses the push (authentication, TLS, unreachable): a clear reason and hint, the cluster's record unchanged, the push tag removed", async () => {
    ({ h, lab } = await createLabCluster());
    const cases = [
      [
        'auth',
        'registry registry.lab.example refused the push (authentication): no basic auth credentials',
        'docker login registry.lab.example',
      ],
      [
        'tls',
        'registry registry.lab.example speaks plain HTTP, and Docker only pushes over HTTPS to it',
        'insecure-registries',
      ],
      [
        'unreachable',
        'registry registry.lab.example cannot be reached from this machine: Get "https://registry.lab.example/v2/": dial tcp registry.lab.example:443: connect: connection refused',
        'check the address and port',
      ],
    ] as const;
    for (const [failure, message, hint] of cases) {
      const state = await h.state();
      state.docker.registryFailures = { 'registry.lab.example': failure };
      await h.setState(state);
      const r = await h.run(['push-images', 'keystone/lammps:0.1.0', ...lab, '--registry', 'registry.lab.example']);
      expect(r.exitCode, failure).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain(hint);
      expect(r.stderr).toContain("the cluster's image record is unchanged");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(record()).toBeUndefined();
      expect((await h.state()).docker.images).not.toContain('registry.lab.example/keystone/lammps:0.1.0');
    }
    for (const bad of ['https://ghcr.io/x', 'not a registry', 'justaname']) {
      const r = await h.run(['push-images', ...lab, '--registry', bad]);
      expect(r.exitCode, bad).toBe(2);
    }
  });
});
