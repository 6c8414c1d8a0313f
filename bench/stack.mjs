// What `npm run bench` and `npm run profile` share: a sandbox with the stack of a fresh setup
// over TLS (5 nodes, the keystone Deployments, 100 finished simulation Jobs with 200 pods), and
// the real kubectl binary to compare against.
import { execa } from 'execa';
import { readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSandbox, cliPath } from '../test/fakes/sandbox.mjs';

const settle = () => new Promise((r) => setImmediate(r));

/**
 * The `kubectl` on PATH here may be a dispatcher (Google Cloud SDK's) that asks the server for its
 * version and then runs the versioned binary beside it: benchmark a binary, not the dispatcher.
 * Which one: BENCH_KUBECTL if set, else the newest `kubectl.1.N` beside the dispatcher (issue 27
 * sets its targets against kubectl.1.33; the dispatcher would pick the server's minor).
 */
export async function resolveKubectl(controlUrl) {
  const dispatcher = (await execa('sh', ['-c', 'command -v kubectl'])).stdout.trim();
  const serverMinor = (await (await fetch(`${controlUrl}/version`)).json()).minor;
  const dir = dirname(realpathSync(dispatcher));
  const newest = readdirSync(dir)
    .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
    .filter(Boolean)
    .sort((a, b) => Number(b[1]) - Number(a[1]))[0]?.[0];
  const real = process.env.BENCH_KUBECTL ?? (newest ? join(dir, newest) : realpathSync(dispatcher));
  const version = JSON.parse((await execa(real, ['version', '--client', '-o', 'json'])).stdout).clientVersion
    .gitVersion;
  const note = process.env.BENCH_KUBECTL
    ? 'chosen with BENCH_KUBECTL'
    : newest
      ? `the newest versioned binary beside \`${dispatcher}\` (a dispatcher, which would run \`kubectl.1.${serverMinor}\` for this server's v1.${serverMinor}; it costs ~80 ms more per call and is not measured)`
      : `\`${dispatcher}\` itself (no versioned binary beside it)`;
  return { dispatcher, serverMinor, real, version, note };
}

/** A sandbox after `keystone setup`, with 100 finished runs (a Job and 2 pods each) added. */
export async function benchStack() {
  const sb = await createSandbox({ nodeReadyDelayMs: 0, podStartDelayMs: 0, tls: true });
  const env = { ...sb.env, PATH: `${sb.bin}:${process.env.PATH}` };
  const setup = await execa(process.execPath, [cliPath, 'setup'], {
    env,
    cwd: sb.project,
    reject: false,
    extendEnv: false,
  });
  if (setup.exitCode !== 0) throw new Error(`keystone setup failed: ${setup.stderr}`);
  sb.cluster.paused = true;
  const now = Date.now();
  for (let i = 0; i < 100; i++) {
    const runId = `20261101-${String(100000 + i).slice(1)}0-${(0xa000 + i).toString(16)}`;
    const started = new Date(now - (200 - i) * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const job = sb.api.create('jobs', {
      metadata: {
        name: `lammps-${runId}`,
        namespace: 'keystone',
        labels: { 'keystone.io/simulation': 'lammps', 'keystone.io/run-id': runId },
        annotations: { 'keystone.io/output-dir': `/data/lammps/runs/${runId}` },
      },
      spec: {
        suspend: false,
        backoffLimit: 1,
        template: {
          metadata: { labels: { 'keystone.io/run-id': runId } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'simulation', image: 'keystone/lammps:0.1.0' }] },
        },
      },
      status: {
        startTime: started,
        completionTime: started,
        succeeded: 1,
        failed: 1,
        conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }],
      },
    });
    for (const [n, exitCode] of [
      [0, 1],
      [1, 0],
    ]) {
      sb.api.create('pods', {
        metadata: {
          name: `${job.metadata.name}-${n}`,
          namespace: 'keystone',
          labels: { 'keystone.io/run-id': runId, 'batch.kubernetes.io/job-name': job.metadata.name },
        },
        spec: {
          nodeName: 'k3d-keystone-cluster-agent-0',
          containers: [{ name: 'simulation', image: 'keystone/lammps:0.1.0' }],
        },
        status: {
          phase: exitCode === 0 ? 'Succeeded' : 'Failed',
          containerStatuses: [
            {
              name: 'simulation',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed' } },
            },
          ],
        },
      });
    }
  }
  await settle();
  sb.cluster.paused = false;
  return { sb, env };
}

/**
 * The logs workload of the bench, the profile and compare-builds: `celery-worker` scaled to `pods`
 * replicas, each with `lines` log lines. Returns the running worker pods.
 */
export async function workersWithLogs(sb, { pods = 20, lines = 10_000 } = {}) {
  await fetch(
    `${sb.api.controlUrl}/apis/apps/v1/namespaces/keystone/deployments/celery-worker/scale?fieldManager=bench`,
    {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: pods } }),
    },
  );
  const running = () =>
    sb.api.objects('pods').filter((p) => p.metadata.labels?.app === 'celery-worker' && p.status?.phase === 'Running');
  for (let i = 0; i < 2000 && running().length < pods; i++) await new Promise((r) => setTimeout(r, 10));
  const workers = running();
  for (const pod of workers)
    for (let j = 0; j < lines; j++)
      sb.api.appendLog(
        'keystone',
        pod.metadata.name,
        'worker',
        `${pod.metadata.name} line ${j} ${'payload '.repeat(8)}end`,
      );
  return workers;
}
