// Runs on another cluster (--context): the run directory on a PersistentVolumeClaim, the input
// uploaded through a helper pod over pods/exec (the fake runs the real tar on the claim's backing
// directory), the Job mounting the claim, no hostPath, the restricted Pod Security level, purge.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runJobsOf, until, type Harness, type RunJob as Job } from '../helpers/harness.js';
import { createLabCluster, helperPodsOf } from '../helpers/lab-cluster.js';

let h: Harness;
let lab: string[];
let submitted: any[];
beforeEach(async () => ({ h, lab, submitted } = await createLabCluster()));
afterEach(async () => h?.cleanup());

const runJobs = () => runJobsOf(h);
const helperPods = () => helperPodsOf(h);
const claimOf = (job: Job) =>
  job.spec.template.spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName as string;

/** The simulation writes an output file into its run directory on the claim, as a real run would. */
function writeOutputs() {
  h.cluster.program = (pod: any) => {
    const volume = pod.spec.volumes.find((v: any) => v.name === 'data');
    const mount = pod.spec.containers[0].volumeMounts.find((m: any) => m.name === 'data');
    const runDir = join(
      h.api.claimDir('keystone', volume.persistentVolumeClaim.claimName),
      mount.subPath,
      pod.spec.containers[0].workingDir.slice(mount.mountPath.length),
    );
    const inputThere = existsSync(runDir);
    if (inputThere) void writeFile(join(runDir, 'log.out'), 'Total wall time: 0:00:01\n');
    return {
      lines: [inputThere ? 'input found on the volume' : 'no run directory on the volume'],
      exitCode: inputThere ? 0 : 1,
    };
  };
}

describe('runs on another cluster (--context) use a run volume', () => {
  it('uploads the input into the shared ReadWriteMany claim, byte for byte (a 3 MiB file too), runs on it, and submits no hostPath', async () => {
    h.cluster.readWriteMany = true;
    writeOutputs();
    const r = await h.run(['run-simulation', 'openfoam', 'cavity', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('input found on the volume');
    const pvc = h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data');
    expect(pvc.spec).toMatchObject({ accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } } });
    expect(r.stderr).toContain('created volume keystone-data (ReadWriteMany, 10Gi)');
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    const runDir = join(h.api.claimDir('keystone', 'keystone-data'), 'openfoam', 'runs', runId);
    for (const f of ['system/controlDict', 'constant/transportProperties', '0/U']) {
      expect(await readFile(join(runDir, 'cavity', f)), f).toEqual(
        await readFile(join(h.project, 'data', 'openfoam', 'cavity', f)),
      );
    }
    expect(existsSync(join(runDir, 'log.out'))).toBe(true);
    expect(existsSync(join(h.project, 'data', 'openfoam', 'runs'))).toBe(false); // nothing staged on this machine

    // The Job: the claim where the template's hostPath was, the same paths inside the pod.
    const pod = job!.spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'keystone-data' } }]);
    expect(pod.containers[0].volumeMounts).toEqual([
      { name: 'data', mountPath: '/data/openfoam', subPath: 'openfoam' },
    ]);
    expect(pod.containers[0].workingDir).toBe(`/data/openfoam/runs/${runId}`);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(job!.metadata.annotations).toMatchObject({
      'keystone.io/output-on': 'volume',
      'keystone.io/output-claim': 'keystone-data',
    });
    expect(r.stderr).toContain(`output: volume keystone-data: openfoam/runs/${runId}`);

    // An input over the old 1 MiB ConfigMap limit goes the same way.
    const big = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(join(h.project, 'data', 'lammps', 'big.lj'), big);
    const second = await h.run(['run-simulation', 'lammps', 'big.lj', ...lab]);
    expect(second.exitCode, second.stderr).toBe(0);
    const bigRun = runJobs().find((j) => j.metadata.labels['keystone.io/simulation'] === 'lammps')!;
    expect(
      (
        await readFile(
          join(
            h.api.claimDir('keystone', 'keystone-data'),
            'lammps',
            'runs',
            bigRun.metadata.labels['keystone.io/run-id']!,
            'big.lj',
          ),
        )
      ).equals(big),
    ).toBe(true);

    // Helper pods (one per upload) ran and were deleted; nothing submitted has a hostPath.
    expect(submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'upload')).toHaveLength(2);
    // fsGroup on the whole volume only when its root does not have it yet, not at every helper's start.
    for (const helper of submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper']))
      expect(helper.spec.securityContext.fsGroupChangePolicy).toBe('OnRootMismatch');
    expect(helperPods()).toEqual([]);
    expect(submitted.length).toBeGreaterThanOrEqual(6); // 2 helpers, 2 Jobs, 2 run pods
    expect(JSON.stringify(submitted)).not.toContain('hostPath');
  });

  it('falls back to one ReadWriteOnce claim per run when the cluster cannot provision ReadWriteMany, and remembers it', async () => {
    writeOutputs(); // local-path, as the fake's default class: ReadWriteOnce only
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab, '--volume-size', '2Gi']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'this cluster cannot provision ReadWriteMany volumes, so each run gets its own ReadWriteOnce volume (2Gi)',
    );
    expect(r.stderr).toContain('NodePath only supports ReadWriteOnce');
    // The signal was the provisioner's event on the claim: like local-path, the fake's scheduler
    // never says "provisioning failed for PVC" for a final refusal, and the helper pod stayed Pending.
    expect(JSON.stringify(h.api.objects('events'))).not.toContain('provisioning failed for PVC');
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data')).toBeUndefined();
    expect(h.api.get('configmaps', 'keystone', 'keystone-volume').data.accessMode).toBe('ReadWriteOnce');
    const [job] = runJobs();
    const claim = claimOf(job!);
    expect(claim).toBe(`${job!.metadata.name}-data`);
    expect(h.api.get('persistentvolumeclaims', 'keystone', claim).spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '2Gi' } },
    });
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    expect(await readFile(join(h.api.claimDir('keystone', claim), 'lammps', 'runs', runId, 'in.lj'), 'utf8')).toBe(
      await readFile(join(h.project, 'data', 'lammps', 'in.lj'), 'utf8'),
    );
    expect(helperPods()).toEqual([]);

    // The next run goes straight to its own claim: no second try at ReadWriteMany.
    const before = h.api.requests.filter(
      (q: any) => q.method === 'POST' && q.path.endsWith('/persistentvolumeclaims'),
    ).length;
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const claimPosts =
      h.api.requests.filter((q: any) => q.method === 'POST' && q.path.endsWith('/persistentvolumeclaims')).length -
      before;
    expect(claimPosts).toBe(1);
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data')).toBeUndefined();
  });

  it('jobs cancel of a run on a volume that already finished deletes nothing; jobs clean without --purge-outputs says where its outputs stay and how to free them', async () => {
    writeOutputs(); // per-run ReadWriteOnce claims (the fake's default class)
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    const before = h.api.requests.filter((q: any) => q.method !== 'GET').length;
    let r = await h.run(['jobs', 'cancel', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `Run ${runId} had already succeeded: nothing to stop, nothing deleted; it stays listed so that \`keystone jobs fetch ${runId}\` can still get its outputs (volume ${claimOf(job!)}: lammps/runs/${runId}); \`keystone jobs clean\` removes it`,
    );
    expect(r.stderr).not.toContain('warning');
    expect(h.api.requests.filter((q: any) => q.method !== 'GET').length).toBe(before); // nothing changed
    expect(runJobs()).toHaveLength(1);
    expect((await h.run(['jobs', 'fetch', runId, ...lab])).exitCode).toBe(0);

    // jobs clean without --purge-outputs deletes the run, and so keystone's way to its outputs.
    r = await h.run(['jobs', 'clean', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `warning: run ${runId}'s outputs stay on volume ${claimOf(job!)} (lammps/runs/${runId}), which keystone no longer lists now that the run is gone`,
    );
    expect(r.stderr).toContain(`kubectl delete pvc ${claimOf(job!)} -n keystone`);
    expect(h.api.get('persistentvolumeclaims', 'keystone', claimOf(job!))).toBeDefined();
  });

  it('jobs cancel of a run on a volume that someone deletes meanwhile says the run is gone, and changes nothing', async () => {
    writeOutputs();
    h.cluster.program = () => ({ lines: ['step 0'], exitCode: null }); // runs until cancelled
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', '-d', ...lab])).exitCode).toBe(0);
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    deleteOnPatch(job!.metadata.name);
    const r = await h.run(['jobs', 'cancel', runId, ...lab]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `warning: run ${runId}'s outputs stay on volume ${claimOf(job!)} (lammps/runs/${runId}), which keystone no longer lists now that the run is gone`,
    );
    expect(r.stderr).toContain(
      `error: run ${runId} is gone: its Job ${job!.metadata.name} was deleted while keystone was cancelling it\nhint: \`keystone jobs\` lists the runs there are`,
    );
    expect(runJobs()).toHaveLength(0);
  });

  it('jobs cancel of a running run on a volume suspends it and keeps it: its pods go, it is listed Failed (Cancelled) with exit 143, its follower ends with 143, jobs fetch gets what it wrote, jobs clean --purge-outputs removes it', async () => {
    h.cluster.readWriteMany = true;
    const onVolume = (id: string) => join(h.api.claimDir('keystone', 'keystone-data'), 'lammps', 'runs', id);
    h.cluster.program = (pod: any) => {
      writeFileSync(join(onVolume(pod.metadata.labels['keystone.io/run-id']), 'log.lammps'), 'Step Temp\n0 1.5\n');
      return { lines: ['step 0'], exitCode: null }; // runs until its pod is deleted
    };
    const follower = h.spawn(['run-simulation', 'lammps', 'in.lj', ...lab]);
    let out = '';
    follower.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('step 0'), 'the run to start');
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    const runPods = () => h.api.objects('pods').filter((p: any) => p.metadata.labels?.['keystone.io/run-id'] === runId);
    expect(runPods()).toHaveLength(1);
    const startedAt = h.api.get('jobs', 'keystone', job!.metadata.name).status.startTime;
    expect(startedAt).toBeDefined();

    let r = await h.run(['jobs', 'cancel', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe(
      `Cancelled run ${runId} (it was stopped); it stays listed so that \`keystone jobs fetch ${runId}\` can still get its outputs (volume keystone-data: lammps/runs/${runId}); \`keystone jobs clean\` removes it`,
    );
    // Suspended and marked, not deleted; the Job controller deletes its pod and says Suspended.
    const kept = h.api.get('jobs', 'keystone', job!.metadata.name);
    expect(kept.spec.suspend).toBe(true);
    const at = kept.metadata.annotations['keystone.io/cancelled-at'];
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await until(() => runPods().length === 0, 'its pod deleted by the Job controller');
    await until(
      () =>
        (h.api.get('jobs', 'keystone', job!.metadata.name).status?.conditions ?? []).some(
          (c: any) => c.type === 'Suspended' && c.status === 'True',
        ),
      'the Suspended condition',
    );
    expect(h.api.get('jobs', 'keystone', job!.metadata.name).status).toMatchObject({ startTime: startedAt }); // kept, as the Job controller keeps it
    expect(h.api.get('jobs', 'keystone', job!.metadata.name).status.active).toBeUndefined(); // 0 (omitempty)

    // The attached run-simulation ends: 128 + SIGTERM.
    const followed = await follower;
    expect(followed.exitCode, String(followed.stderr)).toBe(143);
    expect(String(followed.stderr)).toContain(
      `run ${runId} failed (Cancelled) with exit code 143: the run was cancelled (keystone jobs cancel); output: volume keystone-data: lammps/runs/${runId}`,
    );

    r = await h.run(['jobs', '-o', 'json', ...lab]);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({
        runId,
        state: 'Failed',
        reason: 'Cancelled',
        exitCode: 143,
        finishedAt: at,
        outputVolume: 'keystone-data',
      }),
    ]);
    r = await h.run(['jobs', ...lab]);
    expect(r.stdout).toMatch(
      new RegExp(
        `${runId}\\s+lammps\\s+Failed \\(Cancelled\\)\\s+.*\\s143\\s+volume keystone-data: lammps/runs/${runId}`,
      ),
    );
    r = await h.run(['describe', runId, '-o', 'json', ...lab]);
    expect(JSON.parse(r.stdout).status).toBe(`Failed (Cancelled), exit code 143, job ${job!.metadata.name}`);
    r = await h.run(['status', '-o', 'json', ...lab]);
    expect(JSON.parse(r.stdout).stack.simulations).toEqual([expect.objectContaining({ runId, state: 'Failed' })]);
    r = await h.run(['jobs', 'logs', runId, '-f', ...lab]);
    expect(r.exitCode).toBe(143);

    // Its outputs so far come back through a helper pod (the run has no pod left).
    r = await h.run(['jobs', 'fetch', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('still running');
    expect(await readFile(join(h.project, 'data', 'lammps', 'runs', runId, 'log.lammps'), 'utf8')).toBe(
      'Step Temp\n0 1.5\n',
    );
    expect(helperPods()).toEqual([]);

    // Cancelled again: nothing to do.
    r = await h.run(['jobs', 'cancel', runId, ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Run ${runId} was already cancelled: nothing to stop, nothing deleted`);
    expect(h.api.get('jobs', 'keystone', job!.metadata.name).metadata.annotations['keystone.io/cancelled-at']).toBe(at);

    // A finished (failed) run for jobs clean, --failed included.
    r = await h.run(['jobs', 'clean', '--failed', '--purge-outputs', '--dry-run', ...lab]);
    expect(r.stderr).toContain(
      `${runId} (lammps, failed) and its outputs on volume keystone-data: lammps/runs/${runId}`,
    );
    r = await h.run(['jobs', 'clean', '--failed', '--purge-outputs', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `deleted run ${runId} (lammps, failed); removed volume keystone-data: lammps/runs/${runId}`,
    );
    expect(runJobs()).toEqual([]);
    expect(existsSync(onVolume(runId))).toBe(false);
  });

  /** `kubectl delete job NAME` landing between keystone's listing of the run and its patch of it. */
  function deleteOnPatch(name: string) {
    h.api.faults.push({
      times: 1,
      match: (q: { method: string; path: string }) => {
        if (q.method === 'PATCH' && q.path.endsWith(`/jobs/${name}`)) h.api.remove('jobs', 'keystone', name);
        return false;
      },
    });
  }

  /** `run-simulation --cancel-on-interrupt` on the lab cluster's shared volume, attached to a run that goes on until stopped. */
  async function attachedCancellableRun() {
    h.cluster.readWriteMany = true;
    h.cluster.program = () => ({ lines: ['working'], exitCode: null });
    const child = h.spawn(['run-simulation', 'lammps', 'in.lj', '--cancel-on-interrupt', ...lab]);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('working'), 'the run to start');
    return { child }; // wrapped: the subprocess is itself a promise, of its end
  }

  it('run-simulation --cancel-on-interrupt on another cluster: Ctrl-C cancels the run as jobs cancel does, suspended and kept for jobs fetch', async () => {
    const { child } = await attachedCancellableRun();
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    expect(String(r.stderr)).toContain(
      `Cancelled run ${runId}; it stays listed so that \`keystone jobs fetch ${runId}\` can still get its output so far: volume keystone-data: lammps/runs/${runId} (context lab; \`keystone jobs clean --purge-outputs\` deletes it)`,
    );
    expect(job!.spec.suspend).toBe(true);
    expect(job!.metadata.annotations['keystone.io/cancelled-at']).toBeDefined();
    await until(
      () => !h.api.objects('pods').some((p: any) => p.metadata.labels?.['keystone.io/run-id'] === runId),
      'its pod deleted',
    );
    const listed = await h.run(['jobs', '-o', 'json', ...lab]);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ runId, state: 'Failed', reason: 'Cancelled', exitCode: 143 }),
    ]);
    expect((await h.run(['jobs', 'fetch', runId, ...lab])).exitCode).toBe(0);
  });

  it('run-simulation --cancel-on-interrupt on another cluster, the run ending just as it is cancelled: says it had already ended, not "Cancelled"', async () => {
    const { child } = await attachedCancellableRun();
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    // The Job controller records the run Complete just before keystone's suspend patch lands.
    h.api.faults.push({
      times: 1,
      match: (q: { method: string; path: string }) => {
        if (q.method !== 'PATCH' || !q.path.endsWith(`/jobs/${job!.metadata.name}`)) return false;
        const current = h.api.get('jobs', 'keystone', job!.metadata.name);
        const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        h.api.update('jobs', {
          ...current,
          status: {
            ...current.status,
            succeeded: 1,
            completionTime: now,
            conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: now }],
          },
        });
        return false;
      },
    });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toContain(
      `Run ${runId} had already succeeded; it stays listed so that \`keystone jobs fetch ${runId}\``,
    );
    expect(String(r.stderr)).not.toContain('Cancelled run');
    const listed = await h.run(['jobs', '-o', 'json', ...lab]);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ runId, state: 'Succeeded', exitCode: 0 })]);
  });

  it('run-simulation --cancel-on-interrupt on another cluster, the run deleted by someone else just then: says it is gone and where its output stays', async () => {
    const { child } = await attachedCancellableRun();
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    deleteOnPatch(job!.metadata.name);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toContain(
      `warning: run ${runId} is gone (its Job ${job!.metadata.name} was deleted while keystone was cancelling it); its output so far stays in volume keystone-data: lammps/runs/${runId}`,
    );
    expect(String(r.stderr)).not.toContain('Cancelled run');
  });

  it('a Pending ReadWriteMany claim left by an interrupted first run does not hold up the next run: it falls back', async () => {
    writeOutputs();
    h.api.create('persistentvolumeclaims', {
      metadata: { name: 'keystone-data', namespace: 'keystone' },
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } } },
    });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('this cluster cannot provision ReadWriteMany volumes');
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data')).toBeUndefined();
    expect(claimOf(runJobs()[0]!)).toBe(`${runJobs()[0]!.metadata.name}-data`);
  });

  it('Ctrl-C before any provisioner answered for the new shared claim deletes it with the helper pod', async () => {
    h.cluster.provisioner = null; // nobody provisions: the claim stays Pending
    // Ctrl-C once keystone is waiting: the claim and the helper pod exist, the claim unbound.
    const waiting = until(() => helperPods().length > 0, 'the helper pod');
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab], { interrupt: waiting });
    expect(r.exitCode).toBe(130);
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data')).toBeUndefined();
    expect(helperPods()).toEqual([]);
    expect(runJobs()).toEqual([]);
  });

  it('a cluster without a default StorageClass: the run stops at once naming the claim and what to check, and leaves no claim', async () => {
    h.cluster.defaultStorageClass = false;
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('volume keystone-data is not bound and nothing provisions it: 0/');
    expect(r.stderr).toContain('pod has unbound immediate PersistentVolumeClaims');
    expect(r.stderr).toContain('default StorageClass');
    expect(r.stderr).toContain('kubectl describe pvc keystone-data -n keystone');
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data')).toBeUndefined();
    expect(helperPods()).toEqual([]);
  });

  it('runs in a namespace that enforces the restricted Pod Security level, which refuses a hostPath pod', async () => {
    h.cluster.readWriteMany = true;
    writeOutputs();
    const ns = h.api.get('namespaces', undefined, 'keystone');
    h.api.update('namespaces', {
      ...ns,
      metadata: {
        ...ns.metadata,
        labels: { ...ns.metadata.labels, 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(submitted.filter((o) => o.kind === 'Pod')).toHaveLength(2); // the helper and the run's pod were admitted

    // The template's own pod (the hostPath data volume of the keystone cluster) is refused, as the real admission does.
    const template = h.api.get('jobs', 'keystone', 'lammps-template');
    const res = await fetch(`${h.api.url}/api/v1/namespaces/keystone/pods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'hostpath-pod' },
        spec: template.spec.template.spec,
      }),
    });
    expect(res.status).toBe(403);
    const status = (await res.json()) as { reason: string; message: string };
    expect(status.reason).toBe('Forbidden');
    expect(status.message).toBe(
      'pods "hostpath-pod" is forbidden: violates PodSecurity "restricted:latest": hostPath volumes (volume "data"), restricted volume types (volume "data" uses restricted volume type "hostPath")',
    );
    // ...and a pod that runs as root with its privileges is refused for all of them.
    const rootPod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'root-pod' },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    };
    const refused = await fetch(`${h.api.url}/api/v1/namespaces/keystone/pods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(rootPod),
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe(
      'pods "root-pod" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    // A pod-level Unconfined is refused even when every container sets RuntimeDefault (check_seccompProfile_restricted.go).
    const helper = submitted.find((o) => o.metadata.labels?.['keystone.io/volume-helper']);
    const unconfined = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unconfined-pod' },
      spec: {
        ...helper.spec,
        nodeName: undefined,
        securityContext: { ...helper.spec.securityContext, seccompProfile: { type: 'Unconfined' } },
        containers: helper.spec.containers.map((c: any) => ({
          ...c,
          securityContext: { ...c.securityContext, seccompProfile: { type: 'RuntimeDefault' } },
        })),
      },
    };
    const seccomp = await fetch(`${h.api.url}/api/v1/namespaces/keystone/pods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(unconfined),
    });
    expect(seccomp.status).toBe(403);
    expect(((await seccomp.json()) as { message: string }).message).toBe(
      'pods "unconfined-pod" is forbidden: violates PodSecurity "restricted:latest": seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    );
  });

  it("jobs clean --purge-outputs deletes a run's directory on the shared volume (through a helper pod) and a run's own claim", async () => {
    h.cluster.readWriteMany = true;
    writeOutputs();
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const [shared] = runJobs();
    const sharedDir = join(
      h.api.claimDir('keystone', 'keystone-data'),
      'lammps',
      'runs',
      shared!.metadata.labels['keystone.io/run-id']!,
    );
    expect(existsSync(join(sharedDir, 'log.out'))).toBe(true);
    // Another user's file on the volume is not touched.
    const other = join(h.api.claimDir('keystone', 'keystone-data'), 'lammps', 'runs', 'keep-me');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'x'), 'x');

    const again = shared;
    const againDir = sharedDir;
    const dry = await h.run(['jobs', 'clean', '--purge-outputs', '--dry-run', ...lab]);
    expect(dry.stderr).toContain(
      `and its outputs on volume keystone-data: lammps/runs/${again!.metadata.labels['keystone.io/run-id']}`,
    );
    expect(existsSync(againDir)).toBe(true);
    const r = await h.run(['jobs', 'clean', '--purge-outputs', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `removed volume keystone-data: lammps/runs/${again!.metadata.labels['keystone.io/run-id']}`,
    );
    expect(existsSync(againDir)).toBe(false);
    expect(existsSync(join(other, 'x'))).toBe(true);
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data')).toBeDefined();
    expect(submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'purge')).toHaveLength(1);
    expect(helperPods()).toEqual([]);
    expect(runJobs()).toEqual([]);
  });

  it("jobs clean --purge-outputs deletes a run's own ReadWriteOnce claim", async () => {
    writeOutputs();
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab])).exitCode).toBe(0);
    const [job] = runJobs();
    const claim = claimOf(job!);
    expect(existsSync(h.api.claimDir('keystone', claim))).toBe(true);
    const r = await h.run(['jobs', 'clean', '--purge-outputs', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(h.api.get('persistentvolumeclaims', 'keystone', claim)).toBeUndefined();
    expect(existsSync(h.api.claimDir('keystone', claim))).toBe(false);
  });

  it('a helper pod that cannot start stops the run before anything is submitted, and is deleted', async () => {
    h.cluster.readWriteMany = true;
    h.cluster.nodeImages.clear(); // the simulation image is not on the nodes, and no registry has it
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/helper pod keystone-upload-\S+ cannot start: ErrImagePull/);
    expect(runJobs()).toEqual([]);
    expect(helperPods()).toEqual([]);
  });

  it("--image on another cluster: the helper pod runs that image, with the run pod's pull secrets, service account and scheduling", async () => {
    h.cluster.readWriteMany = true;
    h.cluster.nodeImages.clear(); // the template's image is in no registry this cluster reaches
    const template = h.api.get('jobs', 'keystone', 'lammps-template');
    const scheduling = {
      imagePullSecrets: [{ name: 'lab-registry' }],
      serviceAccountName: 'simulations',
      nodeSelector: { 'node.kubernetes.io/pool': 'compute' },
      tolerations: [{ key: 'hpc', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] },
            ],
          },
        },
      },
    };
    h.api.update('jobs', {
      ...template,
      spec: {
        ...template.spec,
        template: { ...template.spec.template, spec: { ...template.spec.template.spec, ...scheduling } },
      },
    });
    // Pinned by the digest given, both the helper and the run run exactly that image.
    const image = `registry.example.com/lab/lammps:1.0@sha256:${'c'.repeat(64)}`;
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab, '--image', image]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [helper] = submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'upload');
    expect(helper.spec.containers[0].image).toBe(image);
    expect(helper.spec).toMatchObject(scheduling);
    expect(helper.spec.automountServiceAccountToken).toBe(false);
    expect(runJobs()[0]!.spec.template.spec.containers[0].image).toBe(image);
  });

  it("a per-run ReadWriteOnce claim: its upload helper asks for the run's CPU and memory, so the node it fixes for the claim can run the run", async () => {
    writeOutputs(); // local-path: per-run claims, each provisioned on its first pod's node
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab, '--cpus', '2', '--memory', '3Gi']);
    expect(r.exitCode, r.stderr).toBe(0);
    const uploads = submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'upload');
    const perRun = uploads.find((p) => p.spec.volumes[0].persistentVolumeClaim.claimName !== 'keystone-data');
    expect(perRun.spec.containers[0].resources).toEqual({
      requests: { cpu: '2000m', memory: '3Gi' },
      limits: { cpu: '2000m', memory: '3Gi' },
    });
    expect(perRun.spec.containers[0].resources).toEqual(runJobs()[0]!.spec.template.spec.containers[0].resources);
    // The shared claim's helper fixes no node: it stays small.
    expect(
      uploads.find((p) => p.spec.volumes[0].persistentVolumeClaim.claimName === 'keystone-data').spec.containers[0]
        .resources.requests,
    ).toEqual({ cpu: '10m', memory: '32Mi' });
    // local-path pins the claim to that node; the run's pod lands there.
    const [job] = runJobs();
    const claim = h.api.get('persistentvolumeclaims', 'keystone', claimOf(job!));
    const runPod = h.api
      .objects('pods')
      .find((p: any) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === job!.metadata.name);
    expect(runPod.spec.nodeName).toBe(claim.metadata.annotations['volume.kubernetes.io/selected-node']);
  });

  it("jobs fetch of a run still running on its own ReadWriteOnce disk: the helper goes to the run pod's node (no Multi-Attach error)", async () => {
    h.cluster.volumeTopology = 'zone'; // an EBS/PD-like disk: any node of the zone, attached to one at a time
    h.cluster.program = (pod: any) => {
      const volume = pod.spec.volumes.find((v: any) => v.name === 'data');
      writeFileSync(
        join(
          h.api.claimDir('keystone', volume.persistentVolumeClaim.claimName),
          'lammps',
          'runs',
          pod.metadata.labels['keystone.io/run-id'],
          'log.lammps',
        ),
        'Step Temp\n0 1.5\n',
      );
      return { lines: ['running'], exitCode: null }; // runs until deleted
    };
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab, '--detach'])).exitCode).toBe(0);
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    const runPod = () =>
      h.api
        .objects('pods')
        .find(
          (p: any) =>
            p.metadata.labels?.['batch.kubernetes.io/job-name'] === job!.metadata.name && p.status?.phase === 'Running',
        );
    await expect.poll(runPod, { timeout: 10_000 }).toBeTruthy();
    const r = await h.run(['jobs', 'fetch', runId, ...lab], { timeoutMs: 10_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(h.project, 'data', 'lammps', 'runs', runId, 'log.lammps'), 'utf8')).toBe(
      'Step Temp\n0 1.5\n',
    );
    const fetchHelper = submitted.find((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'fetch');
    expect(fetchHelper.spec.nodeName).toBe(runPod().spec.nodeName);
    expect(JSON.stringify(h.api.objects('events'))).not.toContain('Multi-Attach');
  });

  // Per-run ReadWriteOnce claims on local-path: the PV is tied to one node (rancher/local-path-provisioner
  // provisioner.go: nodeAffinity kubernetes.io/hostname In [node]); the scheduler says "had volume node
  // affinity conflict" for every other node (kubernetes pkg/scheduler/framework/plugins/volumebinding).
  const whenPerRunClaimBound = (then: (node: string) => void) => {
    let done = false;
    h.api.onChange((resource: string, _type: string, obj: any) => {
      if (
        done ||
        resource !== 'persistentvolumeclaims' ||
        obj.metadata.name === 'keystone-data' ||
        obj.status?.phase !== 'Bound'
      )
        return;
      done = true;
      then(obj.metadata.annotations['volume.kubernetes.io/selected-node']);
    });
  };

  it('a per-run volume whose node filled up after the upload: the run is Pending and `jobs` says it waits for room on that node', async () => {
    let full = '';
    whenPerRunClaimBound((node) => {
      full = node;
      h.cluster.fullNodes = [node];
    });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab, '--detach']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    await until(
      () =>
        h.api
          .objects('pods')
          .some(
            (p: any) =>
              p.metadata.labels?.['keystone.io/run-id'] === runId &&
              !p.metadata.labels?.['keystone.io/volume-helper'] &&
              p.status?.conditions?.some((c: any) => c.reason === 'Unschedulable'),
          ),
      'the run pod Unschedulable',
    );
    const listed = await h.run(['jobs', '-o', 'json', ...lab]);
    const run = JSON.parse(listed.stdout).find((x: any) => x.runId === runId);
    expect(run.state).toBe('Pending');
    expect(run.reason).toMatch(
      new RegExp(
        `^waiting for room on node ${full}, which holds its volume \\(Insufficient cpu\\): it starts when that node frees up \\(0/\\d+ nodes are available: 1 Insufficient cpu, \\d+ node\\(s\\) had volume node affinity conflict\\)$`,
      ),
    );
    const table = await h.run(['jobs', ...lab]);
    expect(table.stdout).toContain(
      `Pending (waiting for room on node ${full}, which holds its volume (Insufficient cpu)`,
    );
  });

  it('a per-run volume whose node is gone: the followed run stops within seconds saying so, and nothing is left running', async () => {
    whenPerRunClaimBound((node) => h.api.remove('nodes', undefined, node));
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /error: the run cannot start: volume lammps-\S+-data is on node \S+, which is gone from the cluster: its storage class keeps a volume's files on one node's disk, so nothing can reach them; the run was cancelled \(nothing ran\)/,
    );
    expect(runJobs()).toEqual([]);
  });

  it("jobs fetch of a run whose volume's node is gone: says so at once instead of waiting for a helper pod that cannot start", async () => {
    h.cluster.program = () => ({ lines: ['running'], exitCode: null }); // runs until deleted
    expect((await h.run(['run-simulation', 'lammps', 'in.lj', ...lab, '--detach'])).exitCode).toBe(0);
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    const runPod = () =>
      h.api
        .objects('pods')
        .find(
          (p: any) =>
            p.metadata.labels?.['batch.kubernetes.io/job-name'] === job!.metadata.name && p.status?.phase === 'Running',
        );
    await until(() => Boolean(runPod()), 'the run pod Running');
    // Its node goes away; the pod object is still listed Running (as until the pod GC removes it).
    h.api.remove('nodes', undefined, runPod().spec.nodeName);
    const helpersBefore = submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'fetch').length;
    const r = await h.run(['jobs', 'fetch', runId, ...lab], { timeoutMs: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `error: volume ${claimOf(job!)} is on node ${runPod().spec.nodeName}, which is gone from the cluster`,
    );
    expect(r.stderr).toContain('hint: if ');
    expect(r.stderr).not.toContain('timed out');
    expect(submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'fetch').length).toBe(
      helpersBefore,
    );
  });

  it("an NFS-style volume that hands out root-owned directories and no fsGroup: the upload's Permission denied is explained", async () => {
    h.cluster.readWriteMany = true;
    h.api.rootOwnedVolumes = true;
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('uploading the input to volume keystone-data failed');
    expect(r.stderr).toContain('Permission denied');
    expect(r.stderr).toContain('not writable by uid 1000');
    expect(r.stderr).toContain('mountPermissions: "0777"');
    expect(r.stderr).toContain('fsGroupPolicy: File');
    expect(r.stderr).not.toContain('image has sh and tar');
    expect(helperPods()).toEqual([]);
    expect(runJobs()).toEqual([]);
  });

  it('a helper pod that cannot start and cannot be deleted either: the error says why it did not start, then that it is left', async () => {
    h.cluster.readWriteMany = true;
    h.cluster.nodeImages.clear();
    h.api.faults.push({
      match: (q: { method: string; path: string }) =>
        q.method === 'DELETE' && q.path.includes('/pods/keystone-upload-'),
      status: 403,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: 'pods "keystone-upload-x" is forbidden: User "lab" cannot delete resource "pods"',
      },
      times: 100,
    });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /helper pod keystone-upload-\S+ cannot start: ErrImagePull.*; helper pod keystone-upload-\S+ could not be deleted either \(.*cannot delete resource "pods".*\): it ends itself within 6 hours/s,
    );
    expect(runJobs()).toEqual([]);
  });

  it('a connection lost in the middle of an upload: the partial run directory is removed, the helper pod deleted, nothing submitted', async () => {
    h.cluster.readWriteMany = true;
    await writeFile(join(h.project, 'data', 'lammps', 'big.lj'), randomBytes(4 * 1024 * 1024));
    h.api.dropExecAfterBytes = 1024 * 1024;
    const r = await h.run(['run-simulation', 'lammps', 'big.lj', ...lab]);
    expect(r.exitCode).toBe(1);
    // Whichever the client notices first: the close, or a send on the closed socket.
    expect(r.stderr).toMatch(/ended without an exit status|lost its connection while sending input/);
    expect(await readdir(join(h.api.claimDir('keystone', 'keystone-data'), 'lammps', 'runs'))).toEqual([]);
    const execs = h.api.requests
      .filter((q: any) => q.path.endsWith('/exec'))
      .map((q: any) => new URLSearchParams(q.query).getAll('command'));
    expect(execs.at(-1)!.slice(0, 3)).toEqual(['rm', '-rf', '--']);
    expect(helperPods()).toEqual([]);
    expect(runJobs()).toEqual([]);
  });

  it('a per-run claim whose upload fails is deleted with it', async () => {
    await writeFile(join(h.project, 'data', 'lammps', 'big.lj'), randomBytes(2 * 1024 * 1024));
    h.api.dropExecAfterBytes = 512 * 1024;
    const r = await h.run(['run-simulation', 'lammps', 'big.lj', ...lab]); // local-path: falls back to a per-run claim
    expect(r.exitCode).toBe(1);
    expect(h.api.objects('persistentvolumeclaims').filter((c: any) => c.metadata.name.startsWith('lammps-'))).toEqual(
      [],
    );
    expect(helperPods()).toEqual([]);
  });

  it('Ctrl-C while the helper pod starts deletes it; nothing is submitted', async () => {
    h.cluster.readWriteMany = true;
    h.cluster.podStartDelayMs = 600_000; // the helper never gets past ContainerCreating
    const starting = until(() => helperPods().length > 0, 'the helper pod');
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab], { interrupt: starting });
    expect(r.exitCode).toBe(130);
    expect(submitted.filter((o) => o.metadata.labels?.['keystone.io/volume-helper'] === 'upload')).toHaveLength(1);
    expect(helperPods()).toEqual([]);
    expect(runJobs()).toEqual([]);
  });

  it('a template with another hostPath volume is refused before anything is uploaded', async () => {
    const template = h.api.get('jobs', 'keystone', 'lammps-template');
    const next = structuredClone(template);
    next.spec.template.spec.volumes.push({ name: 'scratch', hostPath: { path: '/scratch' } });
    h.api.update('jobs', next);
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'template lammps-template has hostPath volume scratch, which another cluster cannot provide',
    );
    expect(submitted).toEqual([]);
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'keystone-data')).toBeUndefined();
  });

  it('a sweep on another cluster, cancelled: its summary shows the indexes still going as stopped by the cancel, not Running', async () => {
    h.cluster.readWriteMany = true;
    h.cluster.program = (pod: any) =>
      pod.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '0'
        ? { lines: ['done'], exitCode: 0 }
        : { lines: ['working'], exitCode: null };
    const follower = h.spawn(['run-simulation', 'lammps', 'in.lj', '--sweep', 'T=1,2,3', ...lab]);
    let out = '';
    follower.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(
      () => (out.match(/working/g) ?? []).length === 2 && out.includes('done'),
      'index 0 done, 1 and 2 working',
    );
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    expect((await h.run(['jobs', 'cancel', runId, ...lab])).exitCode).toBe(0);
    const followed = await follower;
    expect(followed.exitCode).toBe(143);
    const rows = String(followed.stderr)
      .split('\n')
      .filter((l) => /^\d\s+T=\d/.test(l))
      .map((l) => l.trim().split(/\s+/));
    expect(rows).toEqual([
      ['0', 'T=1', 'Succeeded', '0'],
      ['1', 'T=2', 'Failed', '143'],
      ['2', 'T=3', 'Failed', '143'],
    ]);
  });

  it('a sweep on another cluster: each index has its copy of the input and its params.env on the volume', async () => {
    h.cluster.readWriteMany = true;
    h.cluster.program = () => ({ lines: ['ok'], exitCode: 0 });
    const r = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--sweep', 'N=16,32', ...lab]);
    expect(r.exitCode, r.stderr).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const runDir = join(h.api.claimDir('keystone', 'keystone-data'), 'fenicsx', 'runs', runId);
    expect(await readFile(join(runDir, '1', 'params.env'), 'utf8')).toBe("N='32'\n");
    expect(await readFile(join(runDir, '0', 'poisson.py'))).toEqual(
      await readFile(join(h.project, 'data', 'fenicsx', 'poisson.py')),
    );
    expect(JSON.parse(await readFile(join(runDir, 'sweep.json'), 'utf8')).combinations).toHaveLength(2);
  });

  it('--volume-size must be a size', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...lab, '--volume-size', '10GB']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--volume-size "10GB" is not a volume size');
  });
});
