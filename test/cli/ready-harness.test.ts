// The ready harness most command tests start from is restored from what one real `setup` left in
// this worker (test/helpers/harness.ts, createReadyHarness). These tests hold it to that: the same
// cluster, files and answers as a sandbox just set up, and each restored sandbox its own.
import { afterEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHarness, createReadyHarness, runJobsOf, type Harness } from '../helpers/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.cleanup()));
});
const keep = (h: Harness) => (open.push(h), h);

/** A pod's name without the suffix the fake controllers number per worker. */
const podBase = (name: string) => name.replace(/-[0-9a-z]{5}$/, '');

/** What a sandbox's cluster holds, by resource: object names (pods by their base name). */
function inventory(h: Harness): Record<string, string[]> {
  const resources = [
    'namespaces',
    'nodes',
    'pods',
    'services',
    'configmaps',
    'secrets',
    'persistentvolumeclaims',
    'deployments',
    'replicasets',
    'jobs',
    'networkpolicies',
  ];
  return Object.fromEntries(
    resources.map((r) => [
      r,
      h.api
        .objects(r)
        .map(
          (o: { metadata: { namespace?: string; name: string } }) =>
            `${o.metadata.namespace ?? ''}/${r === 'pods' ? podBase(o.metadata.name) : o.metadata.name}`,
        )
        .sort(),
    ]),
  );
}

describe('createReadyHarness: a sandbox restored from one real setup', () => {
  it('holds what a sandbox just set up holds, and answers status and pods as it does', async () => {
    const fresh = keep(await createHarness());
    const setup = await fresh.run(['setup']);
    expect(setup.exitCode, setup.stderr).toBe(0);
    const ready = keep(await createReadyHarness());

    expect(inventory(ready)).toEqual(inventory(fresh));
    expect(inventory(ready).deployments?.length).toBeGreaterThan(0);
    // The fake tools' state (the k3d cluster, docker's images), naming its own sandbox's paths.
    const state = async (h: Harness) =>
      JSON.parse(
        (await readFile(join(h.fake, 'state.json'), 'utf8'))
          .replaceAll(h.root, '<root>')
          .replaceAll(/\b\d{5}\b/g, '<port>'),
      );
    expect(await state(ready)).toEqual(await state(fresh));
    // Its kubeconfig reaches its own fake API server, not the one the snapshot was taken from.
    expect(await readFile(ready.kubeconfig, 'utf8')).toContain(ready.api.url);

    const answers = async (h: Harness) => {
      const status = await h.run(['status', '-o', 'json']);
      const pods = await h.run(['pods', '-o', 'json']);
      expect(status.exitCode, status.stderr).toBe(0);
      expect(pods.exitCode, pods.stderr).toBe(0);
      const { stack, healthy, verdict } = JSON.parse(status.stdout);
      return {
        healthy,
        verdict,
        deployments: stack.deployments
          .map((d: { name: string; ready: number; desired: number }) => `${d.name} ${d.ready}/${d.desired}`)
          .sort(),
        volumes: stack.volumes.map((v: { name: string; phase: string }) => `${v.name} ${v.phase}`).sort(),
        pods: JSON.parse(pods.stdout)
          .map((p: { name: string; status: string; ready: string }) => `${podBase(p.name)} ${p.status} ${p.ready}`)
          .sort(),
      };
    };
    const restoredAnswers = await answers(ready);
    expect(restoredAnswers).toEqual(await answers(fresh));
    expect(restoredAnswers.healthy).toBe(true);
    expect(restoredAnswers.pods.length).toBeGreaterThan(0);

    // What the fake controllers remember (imported images and their IDs, the scheduler's next
    // node) came along: a run lands on the same node with the same image as after a real setup.
    const runPod = async (h: Harness) => {
      h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
      const run = await h.run(['run-simulation', 'lammps', 'in.lj']);
      expect(run.exitCode, run.stderr).toBe(0);
      const pod = h.api
        .objects('pods')
        .find((p: { metadata: { labels?: Record<string, string> } }) => p.metadata.labels?.['keystone.io/run-id']);
      return { node: pod.spec.nodeName, imageID: pod.status.containerStatuses[0].imageID };
    };
    expect(await runPod(ready)).toEqual(await runPod(fresh));
  });

  it('each restored sandbox is its own: a run in one is not in the next', async () => {
    const first = keep(await createReadyHarness());
    first.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    const run = await first.run(['run-simulation', 'lammps', 'in.lj']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('done');
    expect(runJobsOf(first)).toHaveLength(1);

    const second = keep(await createReadyHarness());
    expect(second.root).not.toBe(first.root);
    expect(runJobsOf(second)).toHaveLength(0);
    const jobs = await second.run(['jobs', '-o', 'json']);
    expect(jobs.exitCode, jobs.stderr).toBe(0);
    expect(JSON.parse(jobs.stdout)).toEqual([]);
    expect(JSON.parse((await first.run(['jobs', '-o', 'json'])).stdout)).toHaveLength(1);
  });
});
