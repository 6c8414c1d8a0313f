// run-simulation --nodes K on a cluster with the Kubeflow MPI Operator (test/fakes/mpi-operator.mjs):
// an MPIJob built from the run's Job, followed to the launcher's exit code, and a run like any
// other for jobs, jobs logs, jobs cancel and jobs clean.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createReadyHarness, repoRoot, until, runJobsOf, type Harness } from '../helpers/harness.js';
import { kubeconfigFor } from '../fakes/kube-api-server.mjs';
import { currentIdentity, runAsForLocalCluster } from '../../src/runs/build/run-as.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
  h.api.installCustomResource('mpijobs');
});
afterEach(async () => h?.cleanup());

const ns = 'keystone';
const mpiJobs = (): any[] => h.api.objects('mpijobs');
const runJobs = () => runJobsOf(h);
const owned = (resource: string, m: any): any[] =>
  h.api
    .objects(resource)
    .filter((o: any) => (o.metadata.ownerReferences ?? []).some((r: any) => r.uid === m.metadata.uid));
const isLauncher = (pod: any) => pod.metadata.labels?.['training.kubeflow.org/job-role'] === 'launcher';
const launcherLines = [
  'LAMMPS (23 Jun 2022)',
  'Loop time of 6.3 on 4 procs for 250 steps with 4000 atoms',
  'Total wall time: 0:00:07',
];

describe('run-simulation --nodes K with the MPI Operator', () => {
  it("submits an MPIJob: the profile's mpirun in the launcher, K sshd workers with N/K slots and CPU each, labelled and annotated as run Jobs are", async () => {
    const r = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--ranks',
      '4',
      '--nodes',
      '2',
      '--detach',
      '--',
      '-var',
      'T',
      '2.0',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(runJobs()).toEqual([]); // no run Job: the MPIJob is the run
    const [m] = mpiJobs();
    const runId = m.metadata.labels['keystone.io/run-id'];
    expect(r.stderr).toContain(
      `Submitted run ${runId} (MPIJob lammps-${runId}, 4 ranks on 2 nodes); output: data/lammps/runs/${runId}`,
    );
    expect(m.metadata.name).toBe(`lammps-${runId}`);
    expect(m.metadata.labels).toMatchObject({
      'keystone.io/simulation': 'lammps',
      'app.kubernetes.io/part-of': 'keystone',
    });
    expect(m.metadata.annotations).toEqual({
      'keystone.io/input': 'in.lj',
      'keystone.io/output-dir': join(h.project, 'data', 'lammps', 'runs', runId),
      'keystone.io/output-on': 'host',
      'keystone.io/run-record': expect.stringContaining('"runKind":"MPIJob"'),
    });
    expect(m.spec).toMatchObject({
      slotsPerWorker: 2,
      runPolicy: { cleanPodPolicy: 'Running', backoffLimit: 0 },
      sshAuthMountPath: '/home/sim/.ssh',
      launcherCreationPolicy: 'WaitForWorkersReady',
      mpiImplementation: 'OpenMPI',
    });
    const { Launcher, Worker } = m.spec.mpiReplicaSpecs;
    const runAs = runAsForLocalCluster(currentIdentity({}))!;
    expect([Launcher.replicas, Launcher.restartPolicy, Worker.replicas, Worker.restartPolicy]).toEqual([
      1,
      'Never',
      2,
      'Never',
    ]);
    for (const t of [Launcher.template, Worker.template]) {
      expect(t.metadata.labels).toMatchObject({ 'keystone.io/simulation': 'lammps', 'keystone.io/run-id': runId });
      expect(t.spec.restartPolicy).toBeUndefined(); // the replica's restartPolicy decides
      expect(t.spec.securityContext).toMatchObject({ runAsUser: runAs.uid, runAsGroup: runAs.gid }); // as a run Job on this cluster
      expect(t.spec.volumes).toEqual([{ name: 'data', hostPath: { path: '/data/lammps', type: 'DirectoryOrCreate' } }]);
    }
    const launcher = Launcher.template.spec.containers[0];
    expect(launcher.command).toEqual(['keystone-mpi', 'mpirun', '-np', '4', 'lmp', '-in', 'in.lj', '-var', 'T', '2.0']);
    expect(launcher.workingDir).toBe(`/data/lammps/runs/${runId}`);
    expect(launcher.resources.requests.cpu).toBe('500m'); // the template's: the ranks run on the workers
    expect(launcher.env).toEqual(
      expect.arrayContaining([
        { name: 'KEYSTONE_RUN_ID', value: runId },
        { name: 'OMPI_MCA_btl_vader_single_copy_mechanism', value: 'none' },
      ]),
    );
    const worker = Worker.template.spec.containers[0];
    expect(worker.command).toEqual(['keystone-mpi', 'sshd']);
    expect(worker.resources.requests.cpu).toBe('2000m'); // 2 ranks x 1 CPU
    expect(worker.resources.limits.cpu).toBe('2000m');
    expect(worker.readinessProbe).toEqual({ tcpSocket: { port: 2222 }, periodSeconds: 2 });

    // What the operator makes of it: workers first, the launcher Job once they are Ready.
    const name = m.metadata.name;
    await until(() => Boolean(h.api.get('jobs', ns, `${name}-launcher`)), 'the launcher Job');
    const workers = h.api
      .objects('pods')
      .filter((p: any) => p.metadata.labels?.['training.kubeflow.org/job-role'] === 'worker');
    expect(workers.map((p: any) => p.metadata.name).sort()).toEqual([`${name}-worker-0`, `${name}-worker-1`]);
    expect(workers[0].metadata.labels).toMatchObject({
      'keystone.io/run-id': runId,
      'training.kubeflow.org/job-name': name,
    });
    expect(workers[0].spec.containers[0].volumeMounts).toContainEqual({
      name: 'ssh-auth',
      mountPath: '/home/sim/.ssh',
    });
    expect(h.api.get('configmaps', ns, `${name}-config`).data.hostfile).toBe(
      `${name}-worker-0.${name}.${ns}.svc slots=2\n${name}-worker-1.${name}.${ns}.svc slots=2\n`,
    );
    expect(h.api.get('secrets', ns, `${name}-ssh`).type).toBe('kubernetes.io/ssh-auth');
    expect(h.api.get('services', ns, name).spec.clusterIP).toBe('None');
    const launcherJob = h.api.get('jobs', ns, `${name}-launcher`);
    expect(launcherJob.spec.template.spec.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'OMPI_MCA_orte_default_hostfile', value: '/etc/mpi/hostfile' },
        { name: 'OMPI_MCA_orte_set_default_slots', value: '2' },
      ]),
    );
  });

  it('FEniCSx (MPICH in its image) gets mpiImplementation MPICH and a Hydra hostfile', async () => {
    const r = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--ranks', '2', '--nodes', '2', '--detach']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [m] = mpiJobs();
    expect(m.spec.mpiImplementation).toBe('MPICH');
    await until(() => Boolean(h.api.get('configmaps', ns, `${m.metadata.name}-config`)), 'the hostfile');
    expect(h.api.get('configmaps', ns, `${m.metadata.name}-config`).data.hostfile).toMatch(
      new RegExp(`^${m.metadata.name}-worker-0\\.${m.metadata.name}\\.keystone\\.svc:1\\n`),
    );
  });

  it("is followed to the launcher's exit code: 0, and a failing code (with the launcher's output, not the workers')", async () => {
    h.cluster.program = () => ({ lines: launcherLines, exitCode: 0 });
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '4', '--nodes', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(launcherLines);
    expect(r.stderr).toMatch(/✓ run \S+ succeeded/);
    const first = mpiJobs()[0];
    expect(first.status.conditions.map((c: any) => `${c.type}=${c.status}`)).toEqual(
      expect.arrayContaining(['Created=True', 'Succeeded=True']),
    );
    // cleanPodPolicy Running: the workers' sshd are deleted once it finished; the launcher's pod stays with its log.
    await until(() => owned('pods', first).length === 0, 'the workers deleted');
    expect(
      h.api
        .objects('pods')
        .filter((p: any) => p.metadata.labels?.['keystone.io/run-id'] === first.metadata.labels['keystone.io/run-id'])
        .every(isLauncher),
    ).toBe(true);

    h.cluster.program = (pod: any) => ({
      lines: [`rank 0 on ${pod.metadata.name}`, 'ERROR: Lost atoms: original 4000 current 3998'],
      exitCode: 3,
    });
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '4', '--nodes', '2']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toContain('ERROR: Lost atoms');
    expect(r.stdout).toMatch(/rank 0 on lammps-\S+-launcher-/);
    expect(r.stderr).toMatch(/run \S+ failed \(Error\) with exit code 3: Job has reached the specified backoff limit;/);
    const failed = mpiJobs().find((m) => m.metadata.name !== first.metadata.name);
    expect(failed.status.conditions.find((c: any) => c.type === 'Failed')).toMatchObject({
      status: 'True',
      reason: 'BackoffLimitExceeded/',
    });
  });

  it('a worker whose image cannot be pulled: the run cannot start, is cancelled, and says so (the launcher never comes)', async () => {
    // Given by digest (so keystone does not refuse it before submitting): no registry has it.
    const r = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--ranks',
      '2',
      '--nodes',
      '2',
      '--image',
      `keystone/lammps:9.9.9@sha256:${'0'.repeat(64)}`,
    ]);
    expect(r.exitCode).toBe(1);
    // The kubelet's ErrImagePull turns into ImagePullBackOff one retry later: on a loaded machine
    // keystone may first look after that, and either is what the user is told.
    expect(r.stderr).toMatch(
      /Pending: (1\/2 workers running|0\/2 workers running|worker lammps-\S+-worker-\d: (ContainerCreating|ErrImagePull|ImagePullBackOff))/,
    );
    expect(r.stderr).toMatch(
      /the run cannot start: pod lammps-\S+-worker-\d: (ErrImagePull|ImagePullBackOff): .*; the run was cancelled \(nothing ran\)/,
    );
    expect(mpiJobs()).toEqual([]);
  });

  it('a worker that exits before the launcher starts: the run cannot start, is cancelled, and says which worker and how (no waiting for a launcher that never comes)', async () => {
    // The operator neither replaces such a worker nor fails the MPIJob (WaitForWorkersReady): keystone must.
    h.cluster.crashImages.add('docker.io/keystone/lammps:0.1.0');
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2'], { timeoutMs: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /the run cannot start: worker lammps-\S+-worker-\d exited with code 1 before the launcher started \(its sshd must keep running\); the run was cancelled \(nothing ran\)/,
    );
    expect(r.stderr).toMatch(/hint: see why: kubectl logs -n keystone lammps-\S+-worker-\d/);
    expect(mpiJobs()).toEqual([]);
  });

  it("--timeout becomes the MPIJob's activeDeadlineSeconds; the launcher stopped there is exit 124", async () => {
    h.cluster.program = () => ({ lines: ['Step Temp'], exitCode: null });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', '--timeout', '1s']);
    expect(r.exitCode).toBe(124);
    expect(r.stderr).toContain('went past its --timeout');
    expect(mpiJobs()[0].spec.runPolicy.activeDeadlineSeconds).toBe(1);
  });

  it("jobs lists it, jobs logs shows the launcher's output, jobs logs -f follows it to its exit code, jobs cancel deletes it and all the operator made", async () => {
    h.cluster.program = () => ({ lines: launcherLines, exitCode: null }); // runs until cancelled
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '4', '--nodes', '2', '--detach']);
    expect(r.exitCode, r.stderr).toBe(0);
    const m = mpiJobs()[0];
    const runId = m.metadata.labels['keystone.io/run-id'];
    await until(
      () => h.api.objects('pods').some((p: any) => isLauncher(p) && p.status?.phase === 'Running'),
      'the launcher running',
    );

    r = await h.run(['jobs', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [run] = JSON.parse(r.stdout);
    expect(run).toMatchObject({
      runId,
      tool: 'lammps',
      job: m.metadata.name,
      state: 'Running',
      nodes: 2,
      outputLocal: true,
      outputDir: join(h.project, 'data', 'lammps', 'runs', runId),
    });
    r = await h.run(['jobs']);
    expect(r.stdout).toMatch(new RegExp(`${runId}\\s+lammps\\s+Running`));

    await until(
      () =>
        h.api.logLines(ns, h.api.objects('pods').find(isLauncher).metadata.name, 'simulation').length ===
        launcherLines.length,
      "the launcher's lines",
    );
    r = await h.run(['jobs', 'logs', runId]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(launcherLines); // not the workers' "started on" lines

    r = await h.run(['jobs', 'cancel', runId]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Cancelled run ${runId} (it was stopped)`);
    expect(mpiJobs()).toEqual([]);
    await until(
      () =>
        ['jobs', 'pods', 'configmaps', 'secrets', 'services'].every((res) =>
          h.api.objects(res).every((o: any) => !o.metadata.name.startsWith(m.metadata.name)),
        ),
      'everything the MPIJob owned deleted',
    );
    expect(existsSync(join(h.project, 'data', 'lammps', 'runs', runId, 'in.lj'))).toBe(true); // outputs kept

    // jobs logs -f: followed to the launcher's exit code.
    h.cluster.program = () => ({ lines: ['step 1'], exitCode: 4, runMs: 200 });
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', '--detach']);
    const second = mpiJobs()[0].metadata.labels['keystone.io/run-id'];
    r = await h.run(['jobs', 'logs', second, '-f']);
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toContain('step 1');
    expect(r.stderr).toContain(`run ${second} failed with exit code 4`);

    // jobs clean: the finished MPIJob run goes like a finished Job.
    r = await h.run(['jobs', 'clean']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`deleted run ${second} (lammps, failed)`);
    expect(mpiJobs()).toEqual([]);
  });

  it("status shows an MPIJob run as a run; describe <run-id> shows its conditions, the launcher's and workers' containers, the operator's events", async () => {
    h.cluster.program = () => ({ lines: ['step 1'], exitCode: null });
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', '--detach']);
    const m = mpiJobs()[0];
    const id = m.metadata.labels['keystone.io/run-id'];
    await until(
      () =>
        (h.api.get('mpijobs', ns, m.metadata.name).status?.conditions ?? []).some(
          (c: any) => c.type === 'Running' && c.status === 'True',
        ),
      'the MPIJob Running',
    );
    // status: the operator's launcher Job stands for the run (the MPIJob's name, the run's tool and id).
    await until(() => Boolean(h.api.get('jobs', ns, `${m.metadata.name}-launcher`)), 'the launcher Job');
    r = await h.run(['status', '-o', 'json']);
    expect(JSON.parse(r.stdout).stack.simulations).toEqual([
      expect.objectContaining({ name: m.metadata.name, tool: 'lammps', runId: id, state: 'Running' }),
    ]);

    r = await h.run(['describe', id, '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.status).toBe(`Running, MPIJob ${m.metadata.name} (2 nodes)`);
    expect(d.conditions.map((c: any) => `${c.type}=${c.status}`)).toEqual(['Created=True', 'Running=True']);
    expect(d.containers.map((c: any) => c.pod).sort()).toEqual([
      expect.stringMatching(new RegExp(`^${m.metadata.name}-launcher-`)),
      `${m.metadata.name}-worker-0`,
      `${m.metadata.name}-worker-1`,
    ]);
    expect(d.events.map((e: any) => e.reason)).toEqual(expect.arrayContaining(['MPIJobCreated', 'MPIJobRunning']));
  });

  it("jobs plot reads the launcher's log (mpirun prints every rank's output there)", async () => {
    const lines = (
      await readFile(join(repoRoot, 'test', 'fixtures', 'engine-logs', 'lammps-in.lj-T2.0-steps1000.log'), 'utf8')
    )
      .trimEnd()
      .split('\n');
    h.cluster.program = () => ({ lines, exitCode: 0 });
    let r = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--ranks',
      '2',
      '--nodes',
      '2',
      '--progress',
      'none',
      '--',
      '-var',
      'T',
      '2.0',
      '-var',
      'steps',
      '1000',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const id = mpiJobs()[0].metadata.labels['keystone.io/run-id'];
    r = await h.run(['jobs', 'plot', id, '--out', join(h.project, 'thermo.svg')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('(5 series, 105 points: Temp, E_pair, E_mol, TotEng, Press)');
  });

  it('refuses what cannot be one MPIJob, before anything is staged (exit 2)', async () => {
    const before = h.api.requests.filter((q: { method: string }) => q.method !== 'GET').length;
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '3', '--nodes', '2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--ranks 3 does not split evenly over --nodes 2');
    expect(r.stderr).toContain('use --ranks 2 or --ranks 4');
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', '--sweep', 'T=1,2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--nodes 2 with --sweep');
    // A worker needs its N/K ranks' CPU on one node (the fake nodes have 4).
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '10', '--nodes', '2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--ranks 10 --nodes 2 needs 5 CPUs in one pod (5 ranks × 1)');
    expect(r.stderr).toContain('the largest that fits: --ranks 8 --nodes 2');
    expect(h.api.requests.filter((q: { method: string }) => q.method !== 'GET').length).toBe(before);
    expect(mpiJobs()).toEqual([]);
  });

  it('on another cluster: across nodes only on a ReadWriteMany volume; refused (nothing left) where the cluster has none', async () => {
    const file = join(h.home, 'lab.yaml');
    await writeFile(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
    const lab = ['--context', 'lab', '--kubeconfig', file];
    // local-path (the fake's default class) cannot provision ReadWriteMany: the first try finds out.
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', ...lab]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('--nodes 2 on context lab: the run directory (lammps/runs/');
    expect(r.stderr).toContain('a run across nodes needs a ReadWriteMany volume');
    expect(mpiJobs()).toEqual([]);
    expect(
      h.api
        .objects('persistentvolumeclaims')
        .filter((c: any) => c.metadata.namespace === ns && c.metadata.name !== 'redis-data'),
    ).toEqual([]);
    await until(
      () => !h.api.objects('pods').some((p: any) => p.metadata.labels?.['keystone.io/volume-helper']),
      'the helper pod gone',
    );
    // Known now (the keystone-volume ConfigMap): the next try is refused before anything is written.
    const before = h.api.requests.filter((q: { method: string }) => q.method !== 'GET').length;
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', ...lab]);
    expect(r.exitCode).toBe(2);
    expect(h.api.requests.filter((q: { method: string }) => q.method !== 'GET').length).toBe(before);

    // A cluster with a ReadWriteMany class: the MPIJob's pods mount the shared claim, no hostPath.
    await h.api.remove('configmaps', ns, 'keystone-volume');
    h.cluster.readWriteMany = true;
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', '--detach', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [m] = mpiJobs();
    expect(JSON.stringify(m)).not.toContain('hostPath');
    for (const role of ['Launcher', 'Worker']) {
      expect(m.spec.mpiReplicaSpecs[role].template.spec.volumes).toContainEqual({
        name: 'data',
        persistentVolumeClaim: { claimName: 'keystone-data' },
      });
    }
    // Its outputs come back and go away like any run's: the run object is the MPIJob, not a batch Job.
    const runId = m.metadata.labels['keystone.io/run-id'];
    const onVolume = join(h.api.claimDir(ns, 'keystone-data'), 'lammps', 'runs', runId);
    await until(
      () => (mpiJobs()[0]?.status?.conditions ?? []).some((c: any) => c.type === 'Succeeded' && c.status === 'True'),
      'the MPIJob succeeded',
    );
    await writeFile(join(onVolume, 'log.lammps'), 'Loop time of 6.3 on 2 procs\n');
    r = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    const here = join(h.project, 'data', 'lammps', 'runs', runId);
    expect(await readFile(join(here, 'log.lammps'), 'utf8')).toBe('Loop time of 6.3 on 2 procs\n');
    expect(await readFile(join(here, 'in.lj'), 'utf8')).toBe(
      await readFile(join(h.project, 'data', 'lammps', 'in.lj'), 'utf8'),
    );
    r = await h.run(['jobs', 'clean', '--purge-outputs', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(onVolume)).toBe(false);
    expect(mpiJobs()).toEqual([]);
  });

  it('on another cluster, jobs cancel before the launcher was made: keystone waits for the operator to make it (suspended) and marks it, so status shows the run cancelled, not Pending', async () => {
    const file = join(h.home, 'lab.yaml');
    await writeFile(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
    const lab = ['--context', 'lab', '--kubeconfig', file];
    h.cluster.readWriteMany = true;
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', '--detach', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    const m = mpiJobs()[0];
    const runId = m.metadata.labels['keystone.io/run-id'];
    // Workers that never get Ready (WaitForWorkersReady): the operator has made no launcher yet.
    h.cluster.podStartDelayMs = 600_000;
    await until(
      () => h.api.objects('pods').some((p: any) => p.metadata.labels?.['keystone.io/run-id'] === runId),
      'the workers created',
    );
    expect(h.api.get('jobs', ns, `${m.metadata.name}-launcher`)).toBeUndefined();
    h.cluster.operatorLagMs = 200; // the operator makes the suspended launcher after keystone's patch has returned
    r = await h.run(['jobs', 'cancel', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    const launcher = h.api.get('jobs', ns, `${m.metadata.name}-launcher`);
    expect(launcher.spec.suspend).toBe(true);
    expect(launcher.metadata.annotations['keystone.io/cancelled-at']).toBe(
      h.api.get('mpijobs', ns, m.metadata.name).metadata.annotations['keystone.io/cancelled-at'],
    );
    r = await h.run(['status', '-o', 'json', ...lab]);
    const simulations = JSON.parse(r.stdout).stack.simulations as { name: string; state: string }[];
    expect(simulations.find((sim) => sim.name === m.metadata.name)).toMatchObject({ state: 'Failed' });
  });

  it('on another cluster, jobs cancel suspends the MPIJob and keeps it: the operator suspends its launcher and deletes its workers, it is listed Failed (Cancelled) with exit 143, its follower ends with 143, jobs fetch and jobs clean --purge-outputs work', async () => {
    const file = join(h.home, 'lab.yaml');
    await writeFile(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
    const lab = ['--context', 'lab', '--kubeconfig', file];
    h.cluster.readWriteMany = true; // a run across nodes on another cluster needs the shared volume
    h.cluster.program = (pod: any) => {
      writeFileSync(
        join(
          h.api.claimDir(ns, 'keystone-data'),
          'lammps',
          'runs',
          pod.metadata.labels['keystone.io/run-id'],
          'log.lammps',
        ),
        'Step Temp\n0 1.5\n',
      );
      return { lines: ['Step Temp'], exitCode: null }; // runs until its pod is deleted
    };
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '2', '--detach', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    const m = mpiJobs()[0];
    const runId = m.metadata.labels['keystone.io/run-id'];
    const runPods = () => h.api.objects('pods').filter((p: any) => p.metadata.labels?.['keystone.io/run-id'] === runId);
    await until(
      () => runPods().some((p: any) => isLauncher(p) && p.status?.phase === 'Running'),
      'the launcher running',
    );
    const follower = h.spawn(['jobs', 'logs', runId, '-f', ...lab]);
    let out = '';
    follower.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('Step Temp'), 'the follower attached');

    r = await h.run(['jobs', 'cancel', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `Cancelled run ${runId} (it was stopped); it stays listed so that \`keystone jobs fetch ${runId}\``,
    );
    const kept = h.api.get('mpijobs', ns, m.metadata.name);
    expect(kept.spec.runPolicy.suspend).toBe(true);
    const at = kept.metadata.annotations['keystone.io/cancelled-at'];
    expect(at).toBeDefined();
    // The operator: the launcher Job suspended (keeping keystone's mark), its pod and the workers deleted, the conditions.
    await until(() => runPods().length === 0, "the launcher's and workers' pods deleted");
    const launcher = h.api.get('jobs', ns, `${m.metadata.name}-launcher`);
    expect(launcher.spec.suspend).toBe(true);
    expect(launcher.metadata.annotations['keystone.io/cancelled-at']).toBe(at);
    await until(
      () =>
        (h.api.get('mpijobs', ns, m.metadata.name).status?.conditions ?? []).some(
          (c: any) => c.type === 'Suspended' && c.status === 'True',
        ),
      'Suspended',
    );
    const conditions = h.api.get('mpijobs', ns, m.metadata.name).status.conditions;
    expect(
      conditions.map((c: any) => `${c.type}=${c.status}${c.reason === 'MPIJobSuspended' ? ' MPIJobSuspended' : ''}`),
    ).toEqual(['Created=True', 'Suspended=True MPIJobSuspended', 'Running=False MPIJobSuspended']);
    expect(
      h.api
        .objects('events')
        .some((e: any) => e.reason === 'MPIJobSuspended' && e.involvedObject.name === m.metadata.name),
    ).toBe(true);

    const followed = await follower;
    expect(followed.exitCode, String(followed.stderr)).toBe(143);
    expect(String(followed.stderr)).toContain(`run ${runId} failed with exit code 143`);

    r = await h.run(['jobs', '-o', 'json', ...lab]);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({ runId, state: 'Failed', reason: 'Cancelled', exitCode: 143, finishedAt: at, nodes: 2 }),
    ]);
    r = await h.run(['status', '-o', 'json', ...lab]);
    expect(JSON.parse(r.stdout).stack.simulations).toEqual([
      expect.objectContaining({ runId, name: m.metadata.name, state: 'Failed' }),
    ]);
    r = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(h.project, 'data', 'lammps', 'runs', runId, 'log.lammps'), 'utf8')).toBe(
      'Step Temp\n0 1.5\n',
    );
    r = await h.run(['jobs', 'clean', '--purge-outputs', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `deleted run ${runId} (lammps, failed); removed volume keystone-data: lammps/runs/${runId}`,
    );
    expect(mpiJobs()).toEqual([]);
    expect(existsSync(join(h.api.claimDir(ns, 'keystone-data'), 'lammps', 'runs', runId))).toBe(false);
  });
});

describe('the fake MPI Operator refuses as the real one does', () => {
  const post = (body: unknown) =>
    fetch(`${h.api.controlUrl}/apis/kubeflow.org/v2beta1/namespaces/${ns}/mpijobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer fake-token-do-not-print' },
      body: JSON.stringify(body),
    });

  it('the CRD schema: mpiReplicaSpecs required, mpiImplementation an enum (422); defaults filled on create', async () => {
    let res = await post({ apiVersion: 'kubeflow.org/v2beta1', kind: 'MPIJob', metadata: { name: 'x' }, spec: {} });
    expect(res.status).toBe(422);
    expect((await res.json()).message).toBe('MPIJob.kubeflow.org "x" is invalid: spec.mpiReplicaSpecs: Required value');
    res = await post({ metadata: { name: 'x' }, spec: { mpiReplicaSpecs: {}, mpiImplementation: 'LAM' } });
    expect(res.status).toBe(422);
    expect((await res.json()).message).toContain(
      'spec.mpiImplementation: Unsupported value: "LAM": supported values: "OpenMPI", "Intel", "MPICH"',
    );
    res = await post({ metadata: { name: 'y' }, spec: { mpiReplicaSpecs: {} } });
    expect(res.status).toBe(201);
    expect((await res.json()).spec).toMatchObject({
      slotsPerWorker: 1,
      sshAuthMountPath: '/root/.ssh',
      launcherCreationPolicy: 'AtStartup',
      mpiImplementation: 'OpenMPI',
    });
  });

  it('the controller: an MPIJob without a Launcher gets a ValidationError event and nothing else', async () => {
    const res = await post({
      metadata: { name: 'nolauncher' },
      spec: {
        mpiReplicaSpecs: { Worker: { replicas: 1, template: { spec: { containers: [{ name: 'w', image: 'x:1' }] } } } },
      },
    });
    expect(res.status).toBe(201);
    await until(
      () =>
        h.api
          .objects('events')
          .some((e: any) => e.involvedObject.name === 'nolauncher' && e.reason === 'ValidationError'),
      'the ValidationError event',
    );
    const e = h.api.objects('events').find((x: any) => x.involvedObject.name === 'nolauncher');
    expect(e.message).toContain('spec.mpiReplicaSpecs[Launcher]: Required value: must have Launcher replica spec');
    expect(h.api.get('mpijobs', ns, 'nolauncher').status).toBeUndefined();
    expect(h.api.objects('pods').filter((p: any) => p.metadata.name.startsWith('nolauncher'))).toEqual([]);
  });
});

describe('keystone jobs on a cluster without the MPI Operator', () => {
  it('lists Job runs as before; the MPIJob list is one more request in the same round, answered 404', async () => {
    const plain = await createReadyHarness();
    try {
      let r = await plain.run(['run-simulation', 'lammps', 'in.lj', '--detach']);
      expect(r.exitCode, r.stderr).toBe(0);
      const since = plain.api.requests.length;
      r = await plain.run(['jobs', '-o', 'json']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toHaveLength(1);
      expect(JSON.parse(r.stdout)[0].nodes).toBeUndefined();
      const asked = plain.api.requests.slice(since).map((q: { path: string }) => q.path);
      expect(asked).toContain('/apis/kubeflow.org/v2beta1/namespaces/keystone/mpijobs');
    } finally {
      await plain.cleanup();
    }
  });
});
