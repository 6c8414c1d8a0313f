// `keystone jobs` lists runs from their Jobs and MPIJobs, and asks for pods only for the runs whose
// summary needs them (runs/catalog/list.ts listRuns): the same summaries as from every pod, fewer requests.
import { afterEach, describe, expect, it } from 'vitest';
import { listRuns, summarizeMpiJobRun, summarizeRun } from '../../src/runs/catalog/list.js';
import { isRecentRun } from '../../src/runs/catalog/lookup.js';
import type { JobObject, MpiJobObject, PodObject } from '../../src/kube/objects.js';
import { startApiWithClient } from '../helpers/api-client.js';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

const ns = 'keystone';
const started = '2026-12-01T10:00:00Z';
const ended = '2026-12-01T10:05:00Z';
const onHost = (id: string) => ({
  'keystone.io/output-dir': `/home/u/p/data/lammps/runs/${id}`,
  'keystone.io/output-on': 'host',
});
const onVolume = (id: string) => ({
  'keystone.io/output-dir': `/data/lammps/runs/${id}`,
  'keystone.io/output-on': 'volume',
  'keystone.io/output-claim': 'keystone-data',
});
const onNode = (id: string) => ({
  'keystone.io/output-dir': `/data/lammps/runs/${id}`,
  'keystone.io/output-on': 'node',
});

function job(
  id: string,
  annotations: Record<string, string>,
  status: JobObject['status'],
  spec: Partial<JobObject['spec']> = {},
): JobObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `lammps-${id}`,
      namespace: ns,
      labels: { 'keystone.io/run-id': id, 'keystone.io/simulation': 'lammps' },
      annotations,
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'keystone.io/run-id': id } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'simulation', image: 'keystone/lammps:0.1.0' }] },
      },
      ...spec,
    },
    status,
  } as JobObject;
}

function pod(
  id: string,
  n: number,
  node: string,
  state: { phase: string; exitCode?: number },
  extraLabels: Record<string, string> = {},
): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `lammps-${id}-${n}`, namespace: ns, labels: { 'keystone.io/run-id': id, ...extraLabels } },
    spec: { nodeName: node, containers: [{ name: 'simulation', image: 'keystone/lammps:0.1.0' }] },
    status: {
      phase: state.phase,
      containerStatuses: [
        {
          name: 'simulation',
          ready: state.phase === 'Running',
          restartCount: 0,
          state: state.exitCode === undefined ? { running: {} } : { terminated: { exitCode: state.exitCode } },
        },
      ],
    },
  } as unknown as PodObject;
}

const complete = {
  startTime: started,
  completionTime: ended,
  succeeded: 1,
  conditions: [{ type: 'Complete', status: 'True' }],
};
const failed = {
  startTime: started,
  failed: 1,
  conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: ended }],
};

/** One run of every kind the summary reads differently. */
function corpus(now: number) {
  const old = new Date(now - 30 * 24 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const jobs = [
    job('20261201-100000-a001', onHost('a001'), complete), // done well, outputs here: no pods needed
    job('20261201-100000-a002', onHost('a002'), failed), // its exit code is its pod's
    job('20261201-100000-a003', onVolume('a003'), { startTime: started, active: 1 }), // going: Running or Pending is its pods' to say
    job('20261201-100000-a004', onHost('a004'), { startTime: started }), // Pending by its Job, but its pod runs
    job(
      '20261201-100000-a005',
      onVolume('a005'),
      { startTime: started, conditions: [{ type: 'Suspended', status: 'True' }] },
      { suspend: true },
    ), // cancelled
    job('20261201-100000-a006', onNode('a006'), complete), // outputs on the nodes its pods ran on
    job('20261201-100000-a007', onVolume('a007'), complete),
    job('20261201-100000-a008', onHost('a008'), {
      ...failed,
      conditions: [{ ...failed.conditions[0]!, lastTransitionTime: old }],
    }), // failed a month ago
  ];
  jobs[4]!.metadata!.annotations!['keystone.io/cancelled-at'] = ended;
  const pods = [
    pod('20261201-100000-a001', 0, 'k3d-a-0', { phase: 'Succeeded', exitCode: 0 }),
    pod('20261201-100000-a002', 0, 'k3d-a-0', { phase: 'Failed', exitCode: 3 }),
    pod('20261201-100000-a003', 0, 'k3d-a-1', { phase: 'Running' }),
    pod('20261201-100000-a004', 0, 'k3d-a-1', { phase: 'Running' }),
    pod('20261201-100000-a006', 0, 'n2', { phase: 'Succeeded', exitCode: 0 }),
    pod('20261201-100000-a006', 1, 'n1', { phase: 'Succeeded', exitCode: 0 }),
    pod('20261201-100000-a007', 0, 'n1', { phase: 'Succeeded', exitCode: 0 }),
    pod('20261201-100000-a008', 0, 'k3d-a-0', { phase: 'Failed', exitCode: 7 }),
  ];
  return { jobs, pods };
}

function mpiJob(id: string, status: Record<string, unknown>): MpiJobObject {
  const template = {
    metadata: { labels: { 'keystone.io/run-id': id, 'keystone.io/simulation': 'lammps' } },
    spec: { containers: [{ name: 'simulation', image: 'keystone/lammps:0.1.0' }] },
  };
  return {
    apiVersion: 'kubeflow.org/v2beta1',
    kind: 'MPIJob',
    metadata: {
      name: `lammps-${id}`,
      namespace: ns,
      labels: { 'keystone.io/run-id': id, 'keystone.io/simulation': 'lammps' },
      annotations: onVolume(id),
    },
    spec: {
      slotsPerWorker: 1,
      runPolicy: {},
      mpiReplicaSpecs: {
        Launcher: { replicas: 1, restartPolicy: 'Never', template },
        Worker: { replicas: 2, restartPolicy: 'Never', template },
      },
      sshAuthMountPath: '/home/sim/.ssh',
      mpiImplementation: 'OpenMPI',
    },
    status,
  } as unknown as MpiJobObject;
}

const runPaths = (api: { requests: { method: string; path: string; query: string }[] }, from: number) =>
  api.requests.slice(from).map((q) => `${q.method} ${q.path}${decodeURIComponent(q.query.replace(/\+/g, ' '))}`);

describe('listRuns: pods only for the runs whose summary needs them', () => {
  it('gives the same summaries as from every pod, asking only for the pods of the runs that need them', async () => {
    const started_ = await startApiWithClient();
    stop = started_.stop;
    const { api, client } = started_;
    const now = Date.now();
    const { jobs, pods } = corpus(now);
    for (const j of jobs) api.create('jobs', structuredClone(j));
    for (const p of pods) api.create('pods', structuredClone(p));
    const before = api.requests.length;
    const runs = await listRuns(client, ns);
    // What the summaries were when every run's pods were listed (listRuns before this change).
    const stored = (kind: string) =>
      api.objects(kind).filter((o: { metadata: { namespace: string } }) => o.metadata.namespace === ns);
    const podsOf = (id: string) =>
      (stored('pods') as PodObject[]).filter((p) => p.metadata?.labels?.['keystone.io/run-id'] === id);
    const expected = (stored('jobs') as JobObject[]).map((j) =>
      summarizeRun(j, podsOf(j.metadata!.labels!['keystone.io/run-id']!)),
    );
    const strip = (r: { durationSeconds?: number }) => ({
      ...r,
      durationSeconds: r.durationSeconds === undefined ? undefined : 'set',
    });
    expect(runs.map(strip)).toEqual(expected.sort((a, b) => (a.runId < b.runId ? 1 : -1)).map(strip));
    expect(runs.find((r) => r.runId.endsWith('a002'))).toMatchObject({ state: 'Failed', exitCode: 3 });
    expect(runs.find((r) => r.runId.endsWith('a004'))).toMatchObject({ state: 'Running' });
    expect(runs.find((r) => r.runId.endsWith('a006'))).toMatchObject({ outputNodes: ['n1', 'n2'] });
    expect(runPaths(api, before).sort()).toEqual([
      'GET /api/v1/namespaces/keystone/pods?labelSelector=keystone.io/run-id in (20261201-100000-a002,20261201-100000-a003,20261201-100000-a004,20261201-100000-a006,20261201-100000-a008)&limit=500',
      'GET /apis/batch/v1/namespaces/keystone/jobs?labelSelector=keystone.io/run-id&limit=500',
      'GET /apis/kubeflow.org/v2beta1/namespaces/keystone/mpijobs?labelSelector=keystone.io/run-id&limit=500',
    ]);
  });

  it('makes no pod request when every listed run finished well with its outputs on the host or a volume (as `keystone jobs` lists the last days)', async () => {
    const started_ = await startApiWithClient();
    stop = started_.stop;
    const { api, client } = started_;
    const now = Date.now();
    const { jobs, pods } = corpus(now);
    for (const j of [jobs[0]!, jobs[6]!, jobs[7]!]) api.create('jobs', structuredClone(j)); // a008 failed 30 days ago: not listed
    for (const p of pods) api.create('pods', structuredClone(p));
    const before = api.requests.length;
    const runs = await listRuns(client, ns, (r) => isRecentRun(r, {}, now));
    expect(runs.map((r) => [r.runId, r.state, r.exitCode])).toEqual([
      ['20261201-100000-a007', 'Succeeded', 0],
      ['20261201-100000-a001', 'Succeeded', 0],
    ]);
    expect(runPaths(api, before).sort()).toEqual([
      'GET /apis/batch/v1/namespaces/keystone/jobs?labelSelector=keystone.io/run-id&limit=500',
      'GET /apis/kubeflow.org/v2beta1/namespaces/keystone/mpijobs?labelSelector=keystone.io/run-id&limit=500',
    ]);
  });

  it('an MPIJob run: its exit code from its launcher pod when it failed, like every run', async () => {
    const started_ = await startApiWithClient();
    stop = started_.stop;
    const { api, client } = started_;
    api.installCustomResource('mpijobs');
    const id = '20261201-100000-b001';
    const m = mpiJob(id, {
      startTime: started,
      conditions: [{ type: 'Failed', status: 'True', reason: 'MPIJobFailed', lastTransitionTime: ended }],
    });
    api.create('mpijobs', structuredClone(m));
    const launcher = pod(
      id,
      0,
      'n1',
      { phase: 'Failed', exitCode: 5 },
      { 'training.kubeflow.org/job-role': 'launcher' },
    );
    const worker = pod(
      id,
      1,
      'n2',
      { phase: 'Succeeded', exitCode: 0 },
      { 'training.kubeflow.org/job-role': 'worker' },
    );
    api.create('pods', structuredClone(launcher));
    api.create('pods', structuredClone(worker));
    const runs = await listRuns(client, ns);
    expect(runs).toEqual([summarizeMpiJobRun(m, [launcher, worker])]); // finished: nothing in it depends on the time now
    expect(runs[0]).toMatchObject({ state: 'Failed', exitCode: 5, nodes: 2 });
  });
});
