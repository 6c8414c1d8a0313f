// keystone describe: a deployment, pod or run on one screen (conditions, containers, mounts, events).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReadyHarness, until, type Harness } from '../helpers/harness.js';
import { describeSchema } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const described = async (name: string) => {
  const r = await h.run(['describe', name, '-o', 'json']);
  expect(r.exitCode, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(describeSchema.safeParse(doc).error?.issues ?? []).toEqual([]);
  return doc;
};

describe('describe', () => {
  it("a deployment: rollout conditions, its pods' containers, its mounts (the volume claim)", async () => {
    const d = await described('redis');
    expect(d).toMatchObject({
      kind: 'Deployment',
      name: 'redis',
      healthy: true,
      status: '1/1 ready, 1 up to date, revision 1',
    });
    expect(d.conditions.map((c: { type: string; status: string }) => [c.type, c.status])).toEqual([
      ['Available', 'True'],
      ['Progressing', 'True'],
    ]);
    expect(d.containers).toHaveLength(1);
    expect(d.containers[0]).toMatchObject({
      name: 'redis',
      image: 'docker.io/library/redis:7.4.2-alpine',
      state: 'running',
      ready: true,
      restarts: 0,
    });
    expect(d.mounts).toContainEqual({
      container: 'redis',
      path: '/data',
      volume: 'data',
      source: 'PersistentVolumeClaim redis-data',
      readOnly: false,
    });
    const text = await h.run(['describe', 'redis']);
    expect(text.stdout).toMatch(
      /^Deployment redis: 1\/1 ready, 1 up to date, revision 1\nConditions:\n {2}TYPE\s+STATUS\s+REASON\s+MESSAGE\n {2}Available\s+True\s+MinimumReplicasAvailable/,
    );
    expect(text.stdout).toMatch(
      /\nMounts:\n {2}CONTAINER\s+PATH\s+VOLUME\s+SOURCE\n {2}redis\s+\/data\s+data\s+PersistentVolumeClaim redis-data\n/,
    );
  });

  it('a crash-looping pod (by its short name): state, last termination, restarts and its BackOff event', async () => {
    h.cluster.crashImages.add('docker.io/library/keystone-celery-worker:0.1.0');
    const victim = h.api.objects('pods').find((p: any) => p.metadata.name.startsWith('celery-worker-'));
    h.api.remove('pods', 'keystone', victim.metadata.name);
    await until(() => h.api.objects('events').some((e: any) => e.reason === 'BackOff'), "a crash loop's BackOff event");
    const pod = h.api
      .objects('pods')
      .find((p: any) => p.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff');
    const short = pod.metadata.name.replace(`-${pod.metadata.labels['pod-template-hash']}-`, '-');
    const d = await described(short);
    expect(d).toMatchObject({ kind: 'Pod', name: pod.metadata.name, healthy: false });
    expect(d.status).toMatch(/^CrashLoopBackOff, 0\/1 ready, on k3d-keystone-cluster-/);
    expect(d.containers[0]).toMatchObject({
      name: 'worker',
      state: 'waiting',
      reason: 'CrashLoopBackOff',
      ready: false,
      restarts: 1,
      lastTermination: { reason: 'Error', exitCode: 1 },
    });
    expect(
      d.events.some((e: any) => e.type === 'Warning' && e.reason === 'BackOff' && e.object.name === pod.metadata.name),
    ).toBe(true);
    expect(d.events.every((e: any) => e.object.name === pod.metadata.name)).toBe(true);
    const text = await h.run(['describe', pod.metadata.name]);
    expect(text.stdout).toMatch(/\n {2}\S+\s+worker\s+\S+\s+waiting \(CrashLoopBackOff\)\s+no\s+1\s+Error, exit 1\n/);
    expect(text.stdout).toMatch(
      /\nEvents:\n {2}LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n[\s\S]*Warning\s+BackOff\s+Pod\//,
    );
  });

  it("a run by its id: the Job's failure, the container's exit code and the run's mounts", async () => {
    h.cluster.program = () => ({ lines: ['boom'], exitCode: 5 });
    const submitted = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(submitted.exitCode).toBe(5);
    const runId = /Submitted run (\S+)/.exec(submitted.stderr)![1]!;
    const d = await described(runId);
    expect(d).toMatchObject({ kind: 'Run', name: runId, healthy: false });
    expect(d.status).toMatch(/^Failed \(BackoffLimitExceeded\), exit code 5, job lammps-/);
    expect(d.conditions.some((c: any) => c.type === 'Failed' && c.status === 'True')).toBe(true);
    expect(d.containers[0]).toMatchObject({ state: 'terminated', reason: 'Error', exitCode: 5 });
    expect(d.mounts.some((m: any) => m.path.startsWith('/data'))).toBe(true);
  });

  it('a name that is nothing: one line naming what exists, exit 1; a name that cannot be one: exit 2', async () => {
    let r = await h.run(['describe', 'nginx']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'no deployment, pod or run "nginx" in namespace keystone; deployments: celery-worker, redis',
    );
    r = await h.run(['describe', '20991231-000000-beef']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no run 20991231-000000-beef');
    r = await h.run(['describe', 'Bad_Name']);
    expect(r.exitCode).toBe(2);
  });
});
