// A run's output directory in `jobs -o json`: a path or null, never a sentence (issue 11 #15).
import { describe, expect, it } from 'vitest';
import { summarizeMpiJobRun, summarizeRun } from '../../src/runs/catalog/list.js';
import { mpiJobAsJob } from '../../src/runs/build/mpijob.js';
import type { MpiJobObject, JobObject, PodObject } from '../../src/kube/objects.js';

const job = (annotations: Record<string, string>): JobObject =>
  ({
    metadata: {
      name: 'lammps-x',
      labels: { 'keystone.io/run-id': 'x', 'keystone.io/simulation': 'lammps' },
      annotations,
    },
    spec: { template: { spec: { containers: [] } } },
  }) as unknown as JobObject;
const pod = (nodeName: string): PodObject =>
  ({ metadata: { name: `p-${nodeName}` }, spec: { nodeName } }) as unknown as PodObject;

describe('run output location', () => {
  it('a run on this machine: its host path, local, no nodes', () => {
    const s = summarizeRun(
      job({ 'keystone.io/output-dir': '/home/u/p/data/lammps/runs/x', 'keystone.io/output-on': 'host' }),
      [pod('k3d-a-0')],
    );
    expect(s).toMatchObject({ outputDir: '/home/u/p/data/lammps/runs/x', outputLocal: true, outputNodes: [] });
  });
  it('a run on another cluster: the node path, and the nodes that ran it', () => {
    const s = summarizeRun(job({ 'keystone.io/output-dir': '/data/lammps/runs/x', 'keystone.io/output-on': 'node' }), [
      pod('n2'),
      pod('n1'),
      pod('n2'),
    ]);
    expect(s).toMatchObject({ outputDir: '/data/lammps/runs/x', outputLocal: false, outputNodes: ['n1', 'n2'] });
  });
  it('Jobs made before the fix held a sentence: read back as the path, on the node', () => {
    const s = summarizeRun(
      job({ 'keystone.io/output-dir': '/data/lammps/runs/x on the node that runs it (context lab)' }),
      [],
    );
    expect(s).toMatchObject({ outputDir: '/data/lammps/runs/x', outputLocal: false, outputNodes: [] });
  });
  it('no annotation: null', () => {
    expect(summarizeRun(job({}), [])).toMatchObject({ outputDir: null, outputLocal: false, outputNodes: [] });
  });
});

// `jobs cancel` of a run on a volume suspends it and marks it (runs/catalog/cancel.ts): read back as a
// Failed run, reason Cancelled, exit 143, finished when it was cancelled.
describe('a run cancelled by suspending it', () => {
  const at = '2026-12-01T17:00:00Z';
  const onVolume = {
    'keystone.io/output-dir': '/data/lammps/runs/x',
    'keystone.io/output-on': 'volume',
    'keystone.io/output-claim': 'keystone-data',
  };
  const suspended = (
    extra: Partial<JobObject['status']> = {},
    annotations: Record<string, string> = { 'keystone.io/cancelled-at': at },
  ): JobObject => {
    const j = job({ ...onVolume, ...annotations });
    j.spec.suspend = true;
    j.status = {
      startTime: '2026-12-01T16:59:00Z',
      conditions: [{ type: 'Suspended', status: 'True', reason: 'JobSuspended' }],
      ...extra,
    };
    return j;
  };

  it('suspended and marked: Failed (Cancelled), exit 143, finished at the mark, its duration up to it', () => {
    expect(summarizeRun(suspended(), [], Date.parse('2026-12-02T00:00:00Z'))).toMatchObject({
      state: 'Failed',
      reason: 'Cancelled',
      exitCode: 143,
      finishedAt: at,
      durationSeconds: 60,
      outputVolume: 'keystone-data',
    });
  });
  it('a Complete or Failed condition that came first wins', () => {
    const complete = suspended({
      completionTime: '2026-12-01T16:59:30Z',
      conditions: [{ type: 'Complete', status: 'True' }],
    });
    expect(summarizeRun(complete, [])).toMatchObject({
      state: 'Succeeded',
      exitCode: 0,
      finishedAt: '2026-12-01T16:59:30Z',
    });
    const failed = suspended({
      conditions: [
        { type: 'Failed', status: 'True', reason: 'DeadlineExceeded', lastTransitionTime: '2026-12-01T16:59:40Z' },
      ],
    });
    expect(summarizeRun(failed, [])).toMatchObject({
      state: 'Failed',
      reason: 'DeadlineExceeded',
      exitCode: 124,
      finishedAt: '2026-12-01T16:59:40Z',
    });
  });
  it('suspended without the mark (by someone else), or marked but not suspended: not cancelled', () => {
    expect(summarizeRun(suspended({}, {}), [])).toMatchObject({ state: 'Pending' });
    const unsuspended = suspended();
    unsuspended.spec.suspend = false;
    expect(summarizeRun(unsuspended, [])).toMatchObject({ state: 'Pending' });
    expect(summarizeRun(unsuspended, []).reason).toBeUndefined();
  });
  it('an MPIJob: runPolicy.suspend and the mark on the MPIJob', () => {
    const m = {
      metadata: {
        name: 'lammps-x',
        labels: { 'keystone.io/run-id': 'x', 'keystone.io/simulation': 'lammps' },
        annotations: { ...onVolume, 'keystone.io/cancelled-at': at },
      },
      spec: {
        slotsPerWorker: 1,
        runPolicy: { suspend: true },
        mpiReplicaSpecs: {
          Launcher: { replicas: 1, restartPolicy: 'Never', template: { spec: { containers: [] } } },
          Worker: { replicas: 2, restartPolicy: 'Never', template: { spec: { containers: [] } } },
        },
        sshAuthMountPath: '/home/sim/.ssh',
        mpiImplementation: 'OpenMPI',
      },
      status: {
        startTime: '2026-12-01T16:59:00Z',
        conditions: [
          { type: 'Created', status: 'True' },
          { type: 'Suspended', status: 'True', reason: 'MPIJobSuspended' },
          { type: 'Running', status: 'False', reason: 'MPIJobSuspended' },
        ],
      },
    } as unknown as MpiJobObject;
    expect(mpiJobAsJob(m).spec.suspend).toBe(true);
    expect(summarizeMpiJobRun(m, [])).toMatchObject({
      state: 'Failed',
      reason: 'Cancelled',
      exitCode: 143,
      finishedAt: at,
      nodes: 2,
    });
  });
});

// A Pending run says why, in `jobs` and in the followed state line. The scheduler's message for a
// pod whose local-path volume's node has no room (kubernetes pkg/scheduler: NodeResourcesFit
// "Insufficient cpu", VolumeBinding "had volume node affinity conflict"; FitError's format).
describe('a Pending run says why', () => {
  const unschedulable = (message: string): PodObject =>
    ({
      metadata: { name: 'lammps-x-abc' },
      spec: {},
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
      },
    }) as unknown as PodObject;
  const full =
    '0/4 nodes are available: 1 Insufficient cpu, 3 node(s) had volume node affinity conflict. preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.';
  const running = { ...job({}), status: { active: 1 } } as JobObject;

  it('a Job whose only pod is Pending is Pending, though the Job counts it active', () => {
    expect(summarizeRun(running, [unschedulable(full)])).toMatchObject({
      state: 'Pending',
      reason:
        'waiting for room on the node that holds its volume (Insufficient cpu): it starts when that node frees up (0/4 nodes are available: 1 Insufficient cpu, 3 node(s) had volume node affinity conflict)',
    });
    expect(
      summarizeRun(running, [
        unschedulable(
          '0/4 nodes are available: 4 Insufficient memory. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.',
        ),
      ]).reason,
    ).toBe('Unschedulable: 0/4 nodes are available: 4 Insufficient memory');
  });

  it('the followed state line says the same', async () => {
    const { describePods } = await import('../../src/runs/follow/follow.js');
    expect(describePods([unschedulable(full)], false)).toBe(
      'Pending: waiting for room on the node that holds its volume (Insufficient cpu): it starts when that node frees up (0/4 nodes are available: 1 Insufficient cpu, 3 node(s) had volume node affinity conflict)',
    );
    expect(
      describePods(
        [
          unschedulable(
            '0/4 nodes are available: 4 node(s) had volume node affinity conflict. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.',
          ),
        ],
        false,
      ),
    ).toBe(
      'Pending: no node can use its volume: the node that holds it is gone or takes no pods (0/4 nodes are available: 4 node(s) had volume node affinity conflict)',
    );
  });
});
