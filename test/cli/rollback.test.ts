// keystone rollback: the revision list and undo as `kubectl rollout history/undo` give them, over
// the fake API server whose Deployment controller keeps revisions as the real one does.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReadyHarness, type Harness } from '../helpers/harness.js';
import { rollbackSchema } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

type Obj = {
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    replicas: number;
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } };
  };
  status: { phase: string };
};
const workerSets = (): Obj[] =>
  h.api.objects('replicasets').filter((x: Obj) => x.metadata.name.startsWith('celery-worker-'));
const revisions = async () => {
  const r = await h.run(['rollback', 'celery-worker', '--list', '-o', 'json']);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(rollbackSchema.safeParse(JSON.parse(r.stdout)).error?.issues ?? []).toEqual([]);
  return JSON.parse(r.stdout) as {
    revision: number;
    replicaSet: string;
    current: boolean;
    images: string[];
    changeCause: string | null;
  }[];
};

describe('rollback', () => {
  it('lists revisions from the ReplicaSets and undoes to the previous one, reusing its ReplicaSet', async () => {
    expect((await h.run(['restart', 'celery-worker'])).exitCode).toBe(0);
    const restartedAt = h.api.get('deployments', 'keystone', 'celery-worker').spec.template.metadata.annotations[
      'kubectl.kubernetes.io/restartedAt'
    ];
    expect((await h.run(['restart', 'celery-worker'])).exitCode).toBe(0);
    let list = await revisions();
    expect(list.map((r) => [r.revision, r.current])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(list[0]).toMatchObject({ images: ['keystone-celery-worker:0.1.0'], changeCause: null });
    const rev2 = list[1]!.replicaSet;

    const table = await h.run(['rollback', 'celery-worker', '--list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^REVISION\s+REPLICASET\s+IMAGES\s+CHANGE-CAUSE/);
    expect(table.stdout).toMatch(/\n3\s+celery-worker-\S+\s+\S+\s+<none>\s+\(current\)/);

    const r = await h.run(['rollback', 'celery-worker']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('celery-worker rolled back to revision 2: new pods ready');
    const d = h.api.get('deployments', 'keystone', 'celery-worker');
    expect(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBe(restartedAt);
    expect(d.spec.template.metadata.labels['pod-template-hash']).toBeUndefined();
    // Revision 2's ReplicaSet is reused and becomes revision 4, as the real controller does.
    list = await revisions();
    expect(list.map((x) => [x.revision, x.current])).toEqual([
      [1, false],
      [3, false],
      [4, true],
    ]);
    expect(list[2]!.replicaSet).toBe(rev2);
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('4');
    expect(workerSets()).toHaveLength(3);
    expect(
      workerSets()
        .filter((s) => s.spec.replicas > 0)
        .map((s) => s.metadata.name),
    ).toEqual([rev2]);
    const pods = h.api.objects('pods').filter((p: Obj) => p.metadata.labels.app === 'celery-worker');
    expect(pods).toHaveLength(2);
    expect(
      pods.every((p: Obj) => rev2.endsWith(p.metadata.labels['pod-template-hash']!) && p.status.phase === 'Running'),
    ).toBe(true);

    const first = await h.run(['rollback', 'celery-worker', '--to-revision', '1']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(
      h.api.get('deployments', 'keystone', 'celery-worker').spec.template.metadata.annotations?.[
        'kubectl.kubernetes.io/restartedAt'
      ],
    ).toBeUndefined();
    expect((await revisions()).map((x) => x.revision)).toEqual([3, 4, 5]);
  });

  it("restores the revision's annotations as kubectl does, so its change-cause comes back (kubectl v0.33.0 pkg/polymorphichelpers/rollback.go)", async () => {
    // `kubectl annotate deployment/celery-worker kubernetes.io/change-cause=...`: the controller copies
    // the Deployment's annotations onto its current ReplicaSet (deployment_util.go copyDeploymentAnnotationsToReplicaSet).
    const annotate = (cause: string) => {
      const d = h.api.get('deployments', 'keystone', 'celery-worker');
      h.api.update('deployments', {
        ...d,
        metadata: {
          ...d.metadata,
          annotations: {
            ...d.metadata.annotations,
            'kubernetes.io/change-cause': cause,
            'example.org/owner': cause === 'first release' ? 'ana' : 'ben',
          },
        },
      });
    };
    annotate('first release');
    expect((await h.run(['restart', 'celery-worker'])).exitCode).toBe(0);
    annotate('restart for the new broker');
    let list = await revisions();
    expect(list.map((r) => [r.revision, r.changeCause])).toEqual([
      [1, 'first release'],
      [2, 'restart for the new broker'],
    ]);
    const table = await h.run(['rollback', 'celery-worker', '--list']);
    expect(table.stdout).toMatch(/\n1\s+celery-worker-\S+\s+\S+\s+first release\s*\n/);

    const r = await h.run(['rollback', 'celery-worker', '--to-revision', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const annotations = h.api.get('deployments', 'keystone', 'celery-worker').metadata.annotations;
    // The Deployment now has revision 1's own annotations; its revision stays the controller's.
    expect(annotations['kubernetes.io/change-cause']).toBe('first release');
    expect(annotations['example.org/owner']).toBe('ana');
    expect(annotations['deployment.kubernetes.io/revision']).toBe('3');
    list = await revisions();
    expect(list.map((x) => [x.revision, x.changeCause, x.current])).toEqual([
      [2, 'restart for the new broker', false],
      [3, 'first release', true],
    ]);
  });

  it('says why it cannot roll back: no earlier revision, unknown revision, bad input, no such deployment', async () => {
    let r = await h.run(['rollback', 'celery-worker']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('deployment celery-worker has no earlier revision to roll back to');
    r = await h.run(['rollback', 'celery-worker', '--to-revision', '7']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('deployment celery-worker has no revision 7 (revisions: 1)');
    r = await h.run(['rollback', 'celery-worker', '--to-revision', 'two']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('revision "two" is not a positive whole number');
    r = await h.run(['rollback', 'celery-worker', '--to-revision', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('skipped rollback: the current template already matches revision 1');
    r = await h.run(['rollback', 'nginx', '--list']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no deployment "nginx"; deployments: celery-worker, redis');
  });

  it('reports why the rolled-back pods cannot start', async () => {
    expect((await h.run(['restart', 'redis'])).exitCode).toBe(0);
    h.cluster.crashImages.add('docker.io/library/redis:7.4.2-alpine');
    const r = await h.run(['rollback', 'redis', '--timeout', '30s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/pod redis-\S+ cannot start: CrashLoopBackOff/);
  });
});
