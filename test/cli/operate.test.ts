// pods, logs, shell, scale, restart and the stack part of status, run as a user runs them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../fakes/sandbox.mjs';
import { CapturedStream, createReadyHarness, until, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

type Pod = { metadata: { name: string; labels: Record<string, string> }; status: { phase: string } };
const podsOf = (app: string): Pod[] => h.api.objects('pods').filter((p: Pod) => p.metadata.labels.app === app);

describe('pods', () => {
  it('lists phase, ready, restarts, age and node; -o json has the same facts', async () => {
    let r = await h.run(['pods']);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+NODE$/);
    expect(lines).toHaveLength(4);
    expect(lines.slice(1).every((l) => /\s1\/1\s+Running\s+0\s+\d+s\s+k3d-keystone-cluster-/.test(l))).toBe(true);
    r = await h.run(['pods', '-o', 'json']);
    const pods = JSON.parse(r.stdout);
    expect(pods.map((p: { name: string }) => p.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''))).toEqual([
      'celery-worker',
      'celery-worker',
      'redis',
    ]);
    expect(pods[0]).toMatchObject({ phase: 'Running', status: 'Running', ready: '1/1', restarts: 0, healthy: true });
    expect(pods[0].node).toMatch(/^k3d-keystone-cluster-/);
  });

  it('shows why an unhealthy pod is unhealthy', async () => {
    h.cluster.crashImages.add('docker.io/library/keystone-celery-worker:0.1.0');
    const victim = podsOf('celery-worker')[0]!;
    h.api.remove('pods', 'keystone', victim.metadata.name);
    await until(
      () =>
        h.api
          .objects('pods')
          .some(
            (p: { status: { containerStatuses?: { state: { waiting?: { reason: string } } }[] } }) =>
              p.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff',
          ),
      'a crashing pod',
    );
    h.api.create('pods', {
      metadata: { name: 'big-job', namespace: 'keystone', labels: { app: 'big' } },
      spec: { containers: [{ name: 'c', image: 'redis:7', resources: { requests: { memory: '64Gi' } } }] },
    });
    await until(() => h.api.get('pods', 'keystone', 'big-job').status?.conditions?.length > 0, 'the scheduler');
    const r = await h.run(['pods', '-o', 'wide']);
    expect(r.stdout).toMatch(
      /celery-worker-\S+\s+0\/1\s+CrashLoopBackOff\s+1\s+.*back-off 10s restarting failed container/,
    );
    expect(r.stdout).toMatch(
      /big-job\s+0\/1\s+Pending: Unschedulable\s+.*0\/5 nodes are available: 5 Insufficient memory\./,
    );
  });
});

describe('--timeout bounds API requests', () => {
  it('pods, status and logs end by --timeout when the API answers only after a minute', async () => {
    // These bounds are real time (a request racing its socket): short ones keep the test short.
    h.api.faults.push({ match: () => true, delayMs: 60_000, times: 1000 });
    let r = await h.run(['pods', '--timeout', '1s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /error: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ did not answer within --timeout 1s/,
    );
    expect(r.stderr).toContain('hint: raise --timeout');
    r = await h.run(['logs', 'redis', '--timeout', '1s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('did not answer within --timeout 1s');
    r = await h.run(['status', '-o', 'json', '--timeout', '1s']);
    expect(r.exitCode).toBe(0); // status reports, whatever the state
    expect(JSON.parse(r.stdout).api.error).toMatch(/did not answer within --timeout 1s/);
  });
});

describe('logs', () => {
  it("interleaves a service's pods line by line with a short pod prefix; one pod has no prefix", async () => {
    const [a, b] = podsOf('celery-worker');
    h.api.appendLog('keystone', a!.metadata.name, 'worker', 'task received');
    h.api.appendLog('keystone', b!.metadata.name, 'worker', 'task done');
    let r = await h.run(['logs', 'celery-worker']);
    expect(r.exitCode, r.stderr).toBe(0);
    const short = (name: string) => name.replace(/-[a-z0-9]{10}-/, '-');
    expect(r.stdout).toContain(`[${short(a!.metadata.name)}] task received`);
    expect(r.stdout).toContain(`[${short(b!.metadata.name)}] task done`);
    expect(r.stdout).toContain(`[${short(a!.metadata.name)}] worker started on k3d-keystone-cluster-`);

    r = await h.run(['logs', a!.metadata.name, '--tail', '1']);
    expect(r.stdout).toBe('task received');
    r = await h.run(['logs', a!.metadata.name, '--timestamps', '--tail', '1']);
    expect(r.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z task received$/);
  });

  it('keeps very long lines whole, and empty ones, and makes binary bytes harmless', async () => {
    const pod = podsOf('redis')[0]!;
    const long = 'x'.repeat(200_000);
    h.api.appendLog('keystone', pod.metadata.name, 'redis', long);
    h.api.appendLog('keystone', pod.metadata.name, 'redis', 'bell\u0007 and clear\u001bc and \u0000 nul');
    h.api.appendLog('keystone', pod.metadata.name, 'redis', '');
    const r = await h.run(['logs', 'redis']);
    expect(r.exitCode).toBe(0);
    // Empty lines are lines too, the last one included (the harness drops the final newline).
    expect(r.stdout.endsWith(`nul\n[${pod.metadata.name.replace(/-[a-z0-9]{10}-/, '-')}] `)).toBe(true);
    expect((await h.run(['logs', pod.metadata.name])).stdout.endsWith('nul\n')).toBe(true);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.endsWith(long))?.length).toBeGreaterThan(200_000);
    expect(r.stdout).toContain('bell\ufffd and clear\u001bc and \ufffd nul');
  });

  it('stops reading the streams while a slow reader catches up, and still loses no line', async () => {
    await h.run(['scale', 'celery-worker', '6']);
    const pods = podsOf('celery-worker');
    expect(pods).toHaveLength(6);
    for (const pod of pods)
      for (let i = 0; i < 4000; i++)
        h.api.appendLog('keystone', pod.metadata.name, 'worker', `${pod.metadata.name} ${i} ${'y'.repeat(100)}`);
    // A reader taking a millisecond per 16 KB (a pager, a slow pipe): ~3 MB of logs.
    class SlowReader extends CapturedStream {
      most = 0;
      override _write(chunk: Buffer | string, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
        this.most = Math.max(this.most, this.writableLength);
        setTimeout(() => super._write(chunk, encoding, done), 1);
      }
    }
    const stdout = new SlowReader(false, { highWaterMark: 16 * 1024 });
    const r = await h.run(['logs', 'celery-worker'], { stdout });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => / \d+ y{100}$/.test(l))).toHaveLength(6 * 4000);
    // What waited in memory for the reader: a batch or two, not the whole log (~3 MB before).
    expect(stdout.most).toBeLessThan(512 * 1024);
  });

  it('loses no line of many pods through a pipe (the process waits for stdout to drain)', async () => {
    await h.run(['scale', 'celery-worker', '12']);
    const pods = podsOf('celery-worker');
    expect(pods).toHaveLength(12);
    for (const pod of pods)
      for (let i = 0; i < 3000; i++)
        h.api.appendLog('keystone', pod.metadata.name, 'worker', `${pod.metadata.name} ${i} ${'x'.repeat(100)}`);
    const r = await h.runProcess(['logs', 'celery-worker']); // a real process and pipe: the exit waits for the drain
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => / \d+ x{100}$/.test(l));
    expect(lines).toHaveLength(12 * 3000);
  });

  it("shows a simulation tool's run pods by the tool's name, loading the profiles only for such a name", async () => {
    h.api.create('pods', {
      metadata: { name: 'lammps-run-0', namespace: 'keystone', labels: { 'keystone.io/simulation': 'lammps' } },
      spec: {
        nodeName: 'k3d-keystone-cluster-agent-0',
        containers: [{ name: 'simulation', image: 'keystone/lammps' }],
      },
      status: {
        phase: 'Running',
        containerStatuses: [{ name: 'simulation', ready: true, restartCount: 0, state: { running: {} } }],
      },
    });
    h.api.appendLog('keystone', 'lammps-run-0', 'simulation', 'step 1 of 10');
    // Which of keystone's bundle a process loaded: the chunks' source maps name their modules.
    const record = join(h.home, 'loaded.json');
    const bundled = async (args: string[]) => {
      const r = await h.runProcess(args, {
        env: {
          NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'helpers', 'record-loaded.cjs')}`,
          KEYSTONE_TEST_RECORD_LOADED: record,
        },
      });
      const { files } = JSON.parse(readFileSync(record, 'utf8')) as { files: string[] };
      const sources = files
        .filter((f) => f.startsWith(join(repoRoot, 'dist')) && f.endsWith('.cjs'))
        .flatMap((f) => (JSON.parse(readFileSync(`${f}.map`, 'utf8')) as { sources: string[] }).sources);
      const uses = (pkg: string) => sources.some((s) => s.includes(`node_modules/${pkg}/`));
      return { ...r, zod: uses('zod'), yaml: uses('yaml') };
    };
    const tool = await bundled(['logs', 'lammps']);
    expect(tool.exitCode, tool.stderr).toBe(0);
    expect(tool.stdout).toBe('[lammps-run-0] step 1 of 10');
    expect({ zod: tool.zod, yaml: tool.yaml }).toEqual({ zod: true, yaml: true });
    // A deployment's logs need no tool names: the profiles' validation (~750 KB of the bundle,
    // ~15 MiB of RSS on 200,000 lines, docs/performance.md) is not loaded.
    const service = await bundled(['logs', 'redis']);
    expect(service.exitCode, service.stderr).toBe(0);
    expect(service.stdout).toContain('redis started on');
    expect({ zod: service.zod, yaml: service.yaml }).toEqual({ zod: false, yaml: false });
  });

  it('names what exists when the name is unknown (exit 1), and refuses invalid names (exit 2)', async () => {
    let r = await h.run(['logs', 'celery']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'no service or pod "celery" in namespace keystone; services: celery-worker, redis, fenicsx, lammps, openfoam',
    );
    r = await h.run(['logs', 'Bad;Name']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('"Bad;Name" is not a valid service or pod name');
    r = await h.run(['logs', 'redis', '--tail', '-5']);
    expect(r.exitCode).toBe(2);
  });

  it("a container or previous container the pod lacks fails with the API's reason (exit 1), as kubectl does", async () => {
    const pod = podsOf('redis')[0]!.metadata.name;
    let r = await h.run(['logs', pod, '-c', 'nosuch']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`error: container nosuch is not valid for pod ${pod}`);
    r = await h.run(['logs', pod, '--previous']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`error: previous terminated container "redis" in pod "${pod}" not found`);
    // A service: each pod is named in a notice, and nothing shown is a failure too.
    r = await h.run(['logs', 'celery-worker', '-c', 'nosuch']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/pod celery-worker-\S+ has no container "nosuch" \(containers: worker\)/);
    expect(r.stderr).toContain('error: no logs to show for deployment celery-worker');
    r = await h.run(['logs', 'redis', '--previous']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error: no logs to show for deployment redis');
    // A deployment scaled to 0 has no logs either.
    await h.run(['scale', 'redis', '0']);
    r = await h.run(['logs', 'redis']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error: deployment redis has no pods (scaled to 0?)');
  });

  it('--since 0 shows every line (kubectl sends no sinceSeconds for 0; the API refuses sinceSeconds < 1)', async () => {
    const pod = podsOf('redis')[0]!.metadata.name;
    h.api.appendLog('keystone', pod, 'redis', 'a line');
    const before = h.api.requests.length;
    const r = await h.run(['logs', pod, '--since', '0']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(h.api.logLines('keystone', pod, 'redis'));
    const logRequest = h.api.requests.slice(before).find((q) => q.path.endsWith('/log'))!;
    expect(logRequest.query).not.toContain('sinceSeconds');
    const direct = await fetch(`${h.api.url}/api/v1/namespaces/keystone/pods/${pod}/log?sinceSeconds=0`);
    expect(direct.status).toBe(422);
    expect((await direct.json()).message).toBe(
      `PodLogOptions "${pod}" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0`,
    );
  });

  it('the short pod names in log prefixes work as logs and shell arguments', async () => {
    const [a] = podsOf('celery-worker');
    h.api.appendLog('keystone', a!.metadata.name, 'worker', 'only in a');
    let r = await h.run(['logs', 'celery-worker']);
    const prefix = /\[(celery-worker-[a-z0-9]+)\] only in a/.exec(r.stdout)![1]!;
    expect(prefix).not.toBe(a!.metadata.name); // the ReplicaSet hash is left out
    r = await h.run(['logs', prefix, '--tail', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('only in a');
    r = await h.run(['shell', prefix, '--', 'true']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await h.calls('kubectl')).find((c) => c.includes('exec'))).toContain(a!.metadata.name);
  });

  it('-f follows, survives a pod being replaced (picks up the new one), and stops cleanly on Ctrl-C', async () => {
    const child = h.spawn(['logs', 'celery-worker', '-f']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('worker started'), 'the first lines');
    const [old] = podsOf('celery-worker');
    h.api.appendLog('keystone', old!.metadata.name, 'worker', 'before the restart');
    await until(() => out.includes('before the restart'), 'a followed line');
    h.api.remove('pods', 'keystone', old!.metadata.name);
    await until(
      () => podsOf('celery-worker').length === 2 && podsOf('celery-worker').every((p) => p.status.phase === 'Running'),
      'a replacement pod',
    );
    const replacement = podsOf('celery-worker').find(
      (p) => p.metadata.name !== old!.metadata.name && !out.includes(`${p.metadata.name.slice(-5)}] after`),
    )!;
    await until(
      () => out.includes(`${replacement.metadata.name.slice(-5)}] worker started`),
      "the replacement's first line",
    );
    h.api.appendLog('keystone', replacement.metadata.name, 'worker', 'after the restart');
    await until(() => out.includes('after the restart'), 'a line of the new pod');
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toBe('');
  });
  it('-f through an API outage: says it lost the connection and retries, then that it is back, and goes on', async () => {
    const pod = podsOf('redis')[0]!.metadata.name;
    const child = h.spawn(['logs', 'redis', '-f']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    h.api.appendLog('keystone', pod, 'redis', 'before the outage');
    await until(() => out.includes('before the outage'), 'a first line');
    await fetch(`${h.api.url}/__fake/down`, { method: 'POST' });
    await until(() => err.includes('lost the connection to the Kubernetes API'), 'the lost notice');
    expect(err).toMatch(
      /lost the connection to the Kubernetes API \(cannot reach the Kubernetes API at .*\); retrying/,
    );
    h.api.appendLog('keystone', pod, 'redis', 'during the outage');
    await fetch(`${h.api.url}/__fake/up`, { method: 'POST' });
    await until(
      () => err.includes('the Kubernetes API answers again; following on') && out.includes('during the outage'),
      'the back notice and the missed line',
    );
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(out.split('\n').filter((l) => l.includes('the outage'))).toEqual([
      `[${pod.replace(/-[a-z0-9]+-([a-z0-9]+)$/, '-$1')}] before the outage`,
      `[${pod.replace(/-[a-z0-9]+-([a-z0-9]+)$/, '-$1')}] during the outage`,
    ]);
    expect(err).not.toContain('MaxListeners');
  });
});

describe('shell', () => {
  it('runs kubectl exec on a ready pod of the service, with the chosen context, bash falling back to sh', async () => {
    let r = await h.run(['shell', 'redis']);
    expect(r.exitCode, r.stderr).toBe(0);
    const exec = (await h.calls('kubectl')).find((c) => c.includes('exec'))!;
    const pod = podsOf('redis')[0]!.metadata.name;
    expect(exec).toEqual([
      'kubectl',
      '--context',
      'k3d-keystone-cluster',
      'exec',
      '-i',
      '-n',
      'keystone',
      pod,
      '--',
      'sh',
      '-c',
      'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi',
    ]);

    await h.clearCalls();
    await h.setState({ kubectl: { execExitCode: 3 } });
    r = await h.run(['shell', 'celery-worker', '-c', 'worker', '--', 'echo', '$(rm -rf /)', ';']);
    expect(r.exitCode).toBe(3); // the command's own exit code
    const call = (await h.calls('kubectl')).find((c) => c.includes('exec'))!;
    expect(call.slice(-5)).toEqual(['worker', '--', 'echo', '$(rm -rf /)', ';']);
  });
});

describe('scale', () => {
  it('scales to 0 and back, waiting for the rollout with progress', async () => {
    let r = await h.run(['scale', 'celery-worker', '0']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(podsOf('celery-worker')).toHaveLength(0);
    // The test drives the rollout rather than racing it: the new pods wait until keystone is
    // watching the deployment, so it reports the rollout in progress before it completes.
    h.cluster.podStartDelayMs = 600_000;
    const watchesBefore = h.api.requests.length;
    const scaling = h.run(['scale', 'celery-worker', '3']);
    await until(
      () =>
        h.api.get('deployments', 'keystone', 'celery-worker')?.status?.updatedReplicas === 3 &&
        h.api.requests
          .slice(watchesBefore)
          .some((q: { path: string; query: string }) => q.path.endsWith('/deployments') && q.query.includes('watch')),
      'keystone to watch the deployment while its pods wait',
    );
    expect(podsOf('celery-worker').every((p) => p.status.phase === 'Pending')).toBe(true);
    h.cluster.podStartDelayMs = 20;
    for (const retryPulls of h.api.imageListeners as Array<(images: string[]) => void>) retryPulls([]); // the kubelet's retry starts the held pods now
    r = await scaling;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/celery-worker 0\/3 ready/);
    expect(r.stderr).toContain('celery-worker scaled to 3 (3/3 ready)');
    expect(h.api.get('deployments', 'keystone', 'celery-worker').status.availableReplicas).toBe(3);
  });

  it('setup afterwards keeps the scaled replica count and says so', async () => {
    expect((await h.run(['scale', 'celery-worker', '4'])).exitCode).toBe(0);
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('kept celery-worker at 4 replicas (set by `keystone scale`');
    expect(h.api.get('deployments', 'keystone', 'celery-worker').spec.replicas).toBe(4);
  });

  it('rejects bad replica counts as usage errors', async () => {
    for (const bad of ['-1', '1.5', 'abc', '1000000000']) {
      const r = await h.run(['scale', 'celery-worker', bad]);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr, bad).toMatch(/replicas .* (is not a whole number|is more than 100)/);
    }
  });

  it('names the deployments that exist when the name is unknown', async () => {
    const r = await h.run(['scale', 'celery', '2']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no deployment "celery"; deployments: celery-worker, redis');
  });

  it('reports why the new pods cannot start', async () => {
    h.cluster.crashImages.add('docker.io/library/keystone-celery-worker:0.1.0');
    const r = await h.run(['scale', 'celery-worker', '3', '--timeout', '30s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/pod celery-worker-\S+ cannot start: CrashLoopBackOff/);
    expect(r.stderr).toContain('--previous');
  });
});

describe('restart', () => {
  it('rolls out new pods through a new ReplicaSet, like kubectl rollout restart', async () => {
    const before = podsOf('celery-worker').map((p) => p.metadata.name);
    const r = await h.run(['restart', 'celery-worker']);
    expect(r.exitCode, r.stderr).toBe(0);
    const d = h.api.get('deployments', 'keystone', 'celery-worker');
    expect(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
    const after = podsOf('celery-worker');
    expect(after).toHaveLength(2);
    expect(after.every((p) => !before.includes(p.metadata.name) && p.status.phase === 'Running')).toBe(true);
    const rs = h.api
      .objects('replicasets')
      .filter((x: { metadata: { name: string } }) => x.metadata.name.startsWith('celery-worker-'));
    expect(rs).toHaveLength(2);
  });

  it('restart all restarts every deployment', async () => {
    const r = await h.run(['restart', 'all']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('restarted celery-worker, redis: new pods ready');
  });

  it('reports why the restarted pods cannot start', async () => {
    h.cluster.crashImages.add('docker.io/library/redis:7.4.2-alpine');
    const r = await h.run(['restart', 'redis', '--timeout', '30s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/pod redis-\S+ cannot start: CrashLoopBackOff/);
  });
});

describe('status with the stack', () => {
  it('adds deployments, volumes, services and a health verdict from one round of list requests', async () => {
    const start = h.api.requests.length;
    const r = await h.run(['status', '-o', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.stack.deployments).toEqual([
      { name: 'celery-worker', ready: 2, desired: 2, upToDate: true },
      { name: 'redis', ready: 1, desired: 1, upToDate: true },
    ]);
    expect(report.stack.volumes).toEqual([{ name: 'redis-data', phase: 'Bound', capacity: '1Gi' }]);
    expect(report.stack.services.map((s: { name: string }) => s.name).sort()).toEqual(['redis', 'redis-external']);
    expect(report.healthy).toBe(true);
    expect(report.verdict).toBe('Healthy: all nodes Ready, every deployment ready, volumes bound.');
    const made = h.api.requests.slice(start).map((q) => q.path);
    expect(made.sort()).toEqual([
      '/api/v1/namespaces/keystone/persistentvolumeclaims',
      '/api/v1/namespaces/keystone/services',
      '/api/v1/nodes',
      '/apis/apps/v1/namespaces/keystone/deployments',
      '/apis/batch/v1/namespaces/keystone/jobs',
    ]);

    await h.run(['scale', 'redis', '0']);
    const idle = await h.run(['status', '-o', 'json']);
    expect(JSON.parse(idle.stdout)).toMatchObject({
      healthy: false,
      verdict: 'Not healthy: redis is scaled to 0 and not serving; `keystone scale redis 1` brings it back.',
    });
    expect((await h.run(['status'])).stdout).toMatch(/redis\s+0\/0\s+scaled to 0/);
    await h.run(['scale', 'redis', '1']);

    await h.run(['scale', 'celery-worker', '0']);
    h.cluster.crashImages.add('docker.io/library/keystone-celery-worker:0.1.0');
    await h.run(['scale', 'celery-worker', '1', '--timeout', '5s']);
    const bad = await h.run(['status']);
    expect(bad.stdout).toMatch(/celery-worker\s+0\/1\s+rolling out/);
    expect(bad.stdout).toContain('Not healthy: deployments not ready: celery-worker 0/1');
  });
});
