// `npm run bench`: keystone against kubectl on the fake API server (which real kubectl speaks
// to as well), figures not assertions. Pairs alternate A and B on this noisy machine, so read
// the ratios rather than the absolute times. `npm run bench -- --write` also writes the tables
// into docs/performance.md.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createSandbox, cliPath, repoRoot } from '../test/fakes/sandbox.mjs';
import { benchStack, resolveKubectl } from './stack.mjs';

// 15 alternating pairs: medians of 10 moved by ±5% between runs on this shared machine.
const runs = Number(process.env.BENCH_RUNS ?? 15);
const write = process.argv.includes('--write');
const node = process.execPath;
const out = [];
const say = (line = '') => {
  out.push(line);
  console.log(line);
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
const settle = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// NODE_EXTRA_CA_CERTS makes every Node process load a CA bundle at start (~30 ms here); kubectl
// never pays it. Node cases run twice: with the environment as found, and without the variable.
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const variants = extraCa ? [['with NODE_EXTRA_CA_CERTS', { NODE_EXTRA_CA_CERTS: extraCa }], ['without it', {}]] : [['NODE_EXTRA_CA_CERTS unset', {}]];

// On a machine shared with other work, wall times stretch with the load; the CPU time (user +
// system, all threads) a process used stretches much less. GNU time reports it for each run.
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const cpuMarker = 'BENCH-CPU';

async function timed(cmd, args, { cpu: withCpu = false, ...options } = {}) {
  const [file, argv] = withCpu && gnuTime ? [gnuTime, ['-f', `${cpuMarker} %U %S`, cmd, ...args]] : [cmd, args];
  const start = performance.now();
  const result = await execa(file, argv, { reject: false, stripFinalNewline: false, maxBuffer: 1024 * 1024 * 1024, extendEnv: false, ...options, env: { ...baseEnv, ...options.env } });
  const ms = performance.now() - start;
  if (result.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.exitCode}: ${String(result.stderr).slice(0, 500)}`);
  const line = String(result.stderr).split('\n').find((l) => l.startsWith(cpuMarker));
  const cpu = line ? line.split(' ').slice(1, 3).reduce((sum, x) => sum + Number(x) * 1000, 0) : undefined;
  return { ms, cpu, result };
}

/** Median wall time (and CPU time) of each side over alternating runs. */
async function pair(a, b, n = runs) {
  const withCpu = ([cmd, args, options = {}]) => [cmd, args, { ...options, cpu: true }];
  await timed(...a);
  await timed(...b);
  const ta = [];
  const tb = [];
  const ca = [];
  const cb = [];
  for (let i = 0; i < n; i++) {
    const ra = await timed(...withCpu(a));
    const rb = await timed(...withCpu(b));
    ta.push(ra.ms);
    tb.push(rb.ms);
    if (ra.cpu !== undefined && rb.cpu !== undefined) {
      ca.push(ra.cpu);
      cb.push(rb.cpu);
    }
  }
  return { a: median(ta), b: median(tb), cpuA: ca.length ? median(ca) : undefined, cpuB: cb.length ? median(cb) : undefined };
}

/** The CPU columns of a row: each side's median CPU time and their ratio. */
const cpuCells = (t) => (t.cpuA === undefined ? ['', '', ''] : [fmt(t.cpuA), fmt(t.cpuB), ratio(t.cpuA, t.cpuB)]);

/** Adds NODE_EXTRA_CA_CERTS (or not) to a command's environment. */
const withVariant = ([cmd, args, options = {}], extra) => [cmd, args, { ...options, env: { ...options.env, ...extra } }];

function table(headers, rows) {
  say(`| ${headers.join(' | ')} |`);
  say(`| ${headers.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of rows) say(`| ${row.join(' | ')} |`);
  say();
}

function rolloutComplete(d) {
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want;
}

// A realistic stack (bench/stack.mjs): 5 nodes, the keystone Deployments, 100 finished
// simulation Jobs with 200 pods in all, served over HTTPS with client-certificate auth as a k3d
// cluster is; and the real kubectl binary, not the dispatcher that may be on PATH.
const { sb, env } = await benchStack();
const { dispatcher, serverMinor, versioned, real: realKubectl, version: kubectlVersion } = await resolveKubectl(sb.api.controlUrl);

say(`# keystone performance figures`);
say();
say(`Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` on ${cpus().length} × ${cpus()[0]?.model?.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}; medians of ${runs} alternating runs unless noted; load average ${loadavg()[0].toFixed(1)} when it started. Ratio = keystone ÷ the other (lower is better for keystone). CPU = user + system time of the process (all its threads), from GNU time: on a shared machine it stretches far less with the load than the wall time does.`);
say();
say(`- kubectl: \`${realKubectl}\` (${kubectlVersion}), the binary that \`${dispatcher}\` dispatches to for this server (v1.${serverMinor}).${realKubectl === versioned ? '' : ' (no versioned binary found: the dispatcher itself)'}`);
say(`- The fake API server speaks HTTPS with a private CA and requires a client certificate, as k3d's kubeconfig gives one (EC P-256, like k3s); keystone and kubectl both pay the TLS set-up.`);
say(`- NODE_EXTRA_CA_CERTS: ${extraCa ? `\`${extraCa}\` in the environment as found; Node cases are measured with it and without it` : 'not set'}.`);
say();

// --- 1. start-up ---------------------------------------------------------------------------
{
  say('## 1. Start-up');
  say();
  const rows = [];
  for (const [label, args] of [['keystone --version', ['--version']], ['keystone --help', ['--help']]]) {
    for (const [variant, extra] of variants) {
      const t = await pair(withVariant([node, [cliPath, ...args]], extra), withVariant([node, ['-e', '0']], extra), Math.max(runs, 15));
      rows.push([`\`${label}\``, variant, fmt(t.a), fmt(t.b), ratio(t.a, t.b), ...cpuCells(t)]);
    }
  }
  table(['keystone', 'environment', 'keystone', '`node -e 0`', 'ratio', 'CPU keystone', 'CPU `node -e 0`', 'CPU ratio'], rows);
}

const ks = (args) => [node, [cliPath, ...args], { env, cwd: sb.project }];
const kubectl = (args) => [realKubectl, ['--context', 'k3d-keystone-cluster', ...args], { env }];
const podCount = sb.api.objects('pods').length;

// --- 2. reads ------------------------------------------------------------------------------
{
  say(`## 2. Reads over TLS (${sb.api.objects('nodes').length} nodes, ${podCount} pods, ${sb.api.objects('jobs').length} Jobs)`);
  say();
  const rows = [];
  const statusScript = `k3d cluster list -o json >/dev/null && ${realKubectl} --context k3d-keystone-cluster get nodes -o json >/dev/null && ${realKubectl} --context k3d-keystone-cluster get deploy,pvc,svc,jobs -n keystone -o json >/dev/null`;
  const cases = [
    ['`keystone pods -o json`', ks(['pods', '-o', 'json']), '`kubectl get pods -o json`', kubectl(['get', 'pods', '-n', 'keystone', '-o', 'json'])],
    ['`keystone status -o json`', ks(['status', '-o', 'json']), 'k3d cluster list + 2 `kubectl get` (same facts)', ['/bin/sh', ['-c', statusScript], { env }]],
    ['completion: pods (`keystone __complete shell ""`)', ks(['__complete', 'shell', '']), '`kubectl get pods -o name`', kubectl(['get', 'pods', '-n', 'keystone', '-o', 'name'])],
    ['completion: deployments (`__complete scale ""`)', ks(['__complete', 'scale', '']), '`kubectl get deploy -o name`', kubectl(['get', 'deployments', '-n', 'keystone', '-o', 'name'])],
    ['completion: runs (`__complete jobs logs ""`)', ks(['__complete', 'jobs', 'logs', '']), '`kubectl get jobs -l keystone.io/run-id -o name`', kubectl(['get', 'jobs', '-n', 'keystone', '-l', 'keystone.io/run-id', '-o', 'name'])],
    // What Node itself costs for the same work, with no keystone code: read the kubeconfig, one
    // HTTPS GET with the client certificate, print the names (bench/node-floor.cjs).
    ['plain Node, one HTTPS GET (`bench/node-floor.cjs`, reference)', [node, [join(repoRoot, 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'], { env }], '`kubectl get deploy -o name`', kubectl(['get', 'deployments', '-n', 'keystone', '-o', 'name'])],
  ];
  for (const [ksLabel, ksCmd, kcLabel, kcCmd] of cases) {
    for (const [variant, extra] of variants) {
      const t = await pair(withVariant(ksCmd, extra), kcCmd);
      rows.push([ksLabel, kcLabel, variant, fmt(t.a), fmt(t.b), ratio(t.a, t.b), ...cpuCells(t)]);
    }
  }
  // For reference only: the dispatcher adds a version request and a second exec.
  const viaDispatcher = await pair(ks(['pods', '-o', 'json']), [dispatcher, ['--context', 'k3d-keystone-cluster', 'get', 'pods', '-n', 'keystone', '-o', 'json'], { env }]);
  rows.push(['`keystone pods -o json`', `\`${dispatcher} get pods -o json\` (dispatcher, reference only)`, variants[0][0], fmt(viaDispatcher.a), fmt(viaDispatcher.b), ratio(viaDispatcher.a, viaDispatcher.b), ...cpuCells(viaDispatcher)]);
  table(['keystone', 'kubectl', 'environment', 'keystone', 'kubectl', 'ratio', 'CPU keystone', 'CPU kubectl', 'CPU ratio'], rows);
}

// --- 3. apply ------------------------------------------------------------------------------
{
  say('## 3. Apply `k8s/manifests/` (server-side, nothing changed)');
  say();
  const count = async (cmd) => {
    const before = sb.api.requests.length;
    await timed(...cmd);
    const made = sb.api.requests.slice(before);
    return { total: made.length, discovery: made.filter((q) => q.path === '/api' || q.path === '/apis' || /^\/apis?\/[^/]+(\/[^/]+)?$/.test(q.path) || q.path.startsWith('/openapi')).length };
  };
  const ksApply = ks(['apply']);
  // The fake serves no OpenAPI schemas, so kubectl's client-side validation is off: that only makes kubectl faster.
  const kcApply = kubectl(['apply', '--server-side', '--validate=false', '-f', join(sb.project, 'k8s', 'manifests')]);
  const rows = [];
  for (const [variant, extra] of variants) {
    const t = await pair(withVariant(ksApply, extra), kcApply);
    rows.push(['`keystone apply` vs `kubectl apply --server-side` (warm discovery cache)', variant, fmt(t.a), fmt(t.b), ratio(t.a, t.b), ...cpuCells(t)]);
  }
  table(['case', 'environment', 'keystone', 'kubectl', 'ratio', 'CPU keystone', 'CPU kubectl', 'CPU ratio'], rows);
  const ksCount = await count(ksApply);
  const kcCount = await count(kcApply);
  const kcCold = await count([realKubectl, ['--context', 'k3d-keystone-cluster', '--cache-dir', join(sb.root, `cold-cache-${Date.now()}`), 'apply', '--server-side', '--validate=false', '-f', join(sb.project, 'k8s', 'manifests')], { env }]);
  table(
    ['', 'HTTP requests', 'discovery requests'],
    [
      ['`keystone apply`', String(ksCount.total), String(ksCount.discovery)],
      ['`kubectl apply --server-side` (warm discovery cache)', String(kcCount.total), String(kcCount.discovery)],
      ['`kubectl apply --server-side` (cold cache)', String(kcCold.total), String(kcCold.discovery)],
    ],
  );
  say(`keystone's requests: one apply PATCH per manifest object and one POST for the Redis password Secret (answered 409 when it exists).`);
  say();
}

// --- 4. waits ------------------------------------------------------------------------------
{
  say('## 4. Waits: from the API reporting the rollout complete to the command returning');
  say();
  let completeAt = 0;
  let wasComplete = true;
  sb.api.onChange((resource, type, obj) => {
    if (resource !== 'deployments' || obj.metadata.name !== 'celery-worker') return;
    const complete = rolloutComplete(obj);
    if (complete && !wasComplete) completeAt = performance.now();
    wasComplete = complete;
  });
  sb.cluster.program = () => ({ lines: [], exitCode: 0 });
  const waitFor = async (pred) => {
    for (let i = 0; i < 2000 && !pred(); i++) await sleep(5);
  };
  const deployment = () => sb.api.get('deployments', 'keystone', 'celery-worker');
  const resetTo2 = async () => {
    await fetch(`${sb.api.controlUrl}/apis/apps/v1/namespaces/keystone/deployments/celery-worker/scale?fieldManager=bench`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: 2 } }) });
    await waitFor(() => rolloutComplete(deployment()) && deployment().spec.replicas === 2);
    await sleep(50);
    wasComplete = false;
    completeAt = 0;
  };
  const latencies = { ksScale: [], kcScale: [], ksRestart: [], kcRestart: [] };
  // Pods take 400 ms to start, so every waiter is watching before the rollout completes.
  sb.cluster.podStartDelayMs = 400;
  for (let i = 0; i < Math.max(3, Math.round(runs / 2)); i++) {
    await resetTo2();
    let r = await timed(...ks(['scale', 'celery-worker', '3']));
    let end = performance.now();
    latencies.ksScale.push(end - completeAt);
    await resetTo2();
    await fetch(`${sb.api.controlUrl}/apis/apps/v1/namespaces/keystone/deployments/celery-worker/scale?fieldManager=bench`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: 3 } }) });
    r = await timed(...kubectl(['rollout', 'status', 'deployment/celery-worker', '-n', 'keystone']));
    end = performance.now();
    latencies.kcScale.push(end - completeAt);
    await resetTo2();
    await timed(...ks(['restart', 'celery-worker']));
    latencies.ksRestart.push(performance.now() - completeAt);
    await resetTo2();
    await sleep(1100); // kubectl refuses a second restart within the same second
    await timed(...kubectl(['rollout', 'restart', 'deployment/celery-worker', '-n', 'keystone']));
    await timed(...kubectl(['rollout', 'status', 'deployment/celery-worker', '-n', 'keystone']));
    latencies.kcRestart.push(performance.now() - completeAt);
    void r;
  }
  table(
    ['operation', 'keystone', 'kubectl rollout status', 'ratio'],
    [
      ['scale celery-worker 2 → 3', fmt(median(latencies.ksScale)), fmt(median(latencies.kcScale)), `${(median(latencies.ksScale) / median(latencies.kcScale)).toFixed(2)}×`],
      ['restart celery-worker', fmt(median(latencies.ksRestart)), fmt(median(latencies.kcRestart)), `${(median(latencies.ksRestart) / median(latencies.kcRestart)).toFixed(2)}×`],
    ],
  );
  say('Both wait with watches; the figure includes each process exiting.');
  say();
}

// --- 5. logs -------------------------------------------------------------------------------
{
  const pods = 20;
  const lines = 10_000;
  await fetch(`${sb.api.controlUrl}/apis/apps/v1/namespaces/keystone/deployments/celery-worker/scale?fieldManager=bench`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: pods } }) });
  for (let i = 0; i < 2000 && sb.api.objects('pods').filter((p) => p.metadata.labels?.app === 'celery-worker' && p.status?.phase === 'Running').length < pods; i++) await sleep(10);
  const workers = sb.api.objects('pods').filter((p) => p.metadata.labels?.app === 'celery-worker' && p.status?.phase === 'Running');
  for (const pod of workers) for (let j = 0; j < lines; j++) sb.api.appendLog('keystone', pod.metadata.name, 'worker', `${pod.metadata.name} line ${j} ${'payload '.repeat(8)}end`);
  const expected = workers.length * (lines + 1); // plus each pod's "worker started" line
  const check = (text) => {
    const got = text.split('\n').filter((l) => l.endsWith('end'));
    const intact = got.every((l) => /\S+ line \d+ (payload ){8}end$/.test(l));
    return { lines: got.length, intact };
  };
  say(`## 5. Logs: \`celery-worker\`, ${workers.length} pods × ${lines} lines`);
  say();
  const ksCmd = ks(['logs', 'celery-worker']);
  const kcCmd = kubectl(['logs', '-l', 'app=celery-worker', '-n', 'keystone', '--prefix', '--tail=-1', '--max-log-requests', String(pods)]);
  const n = Math.max(3, Math.round(runs / 3));
  const ta = [];
  const tb = [];
  let ksCheck;
  let kcCheck;
  for (let i = 0; i < n; i++) {
    const a = await timed(...ksCmd);
    ta.push(a.ms);
    ksCheck = check(String(a.result.stdout));
    const b = await timed(...kcCmd);
    tb.push(b.ms);
    kcCheck = check(String(b.result.stdout));
  }
  const total = workers.length * lines;
  table(
    ['', 'wall time', 'lines/s', 'payload lines received', 'all intact'],
    [
      ['`keystone logs celery-worker`', fmt(median(ta)), Math.round(total / (median(ta) / 1000)).toLocaleString('en'), `${ksCheck.lines} / ${total}`, ksCheck.intact ? 'yes' : 'NO'],
      ['`kubectl logs -l app=celery-worker --prefix --tail=-1`', fmt(median(tb)), Math.round(total / (median(tb) / 1000)).toLocaleString('en'), `${kcCheck.lines} / ${total}`, kcCheck.intact ? 'yes' : 'NO'],
      ['ratio keystone ÷ kubectl', `${(median(ta) / median(tb)).toFixed(2)}×`, '', '', ''],
    ],
  );
  void expected;
}
await sb.cleanup();

// --- 6. setup overhead ---------------------------------------------------------------------
{
  say('## 6. `keystone setup` over instant fakes (fresh cluster each run)');
  say();
  const times = [];
  const requests = [];
  const rerunRequests = [];
  for (let i = 0; i < Math.max(3, Math.round(runs / 2)); i++) {
    const fresh = await createSandbox({ nodeReadyDelayMs: 0, podStartDelayMs: 0, tls: true });
    const t = await timed(node, [cliPath, 'setup'], { env: fresh.env, cwd: fresh.project });
    times.push(t.ms);
    requests.push(fresh.api.requests.length);
    const before = fresh.api.requests.length;
    await timed(node, [cliPath, 'setup'], { env: fresh.env, cwd: fresh.project });
    rerunRequests.push(fresh.api.requests.length - before);
    await fresh.cleanup();
  }
  table(['', 'wall time', 'API requests'], [['fresh setup (k3d, docker, kubectl fakes answer at once)', fmt(median(times)), String(median(requests))], ['second setup (nothing to do)', '', String(median(rerunRequests))]]);
}

// --- 7. scale ------------------------------------------------------------------------------
{
  const big = await createSandbox({ nodeReadyDelayMs: 0, podStartDelayMs: 0, tls: true });
  const bigEnv = { ...big.env, PATH: `${big.bin}:${process.env.PATH}` };
  await timed(node, [cliPath, 'setup'], { env: bigEnv, cwd: big.project });
  big.cluster.paused = true;
  for (let i = 0; i < 2000; i++) {
    const runId = `20261102-${String(1000000 + i).slice(1)}-${(0x1000 + i).toString(16)}`.replace(/^(\d{8}-)(\d{6})\d*-/, '$1$2-');
    big.api.create('jobs', {
      metadata: { name: `fenicsx-${runId}-${i}`, namespace: 'keystone', labels: { 'keystone.io/simulation': 'fenicsx', 'keystone.io/run-id': `${runId}` } },
      spec: { suspend: false, template: { spec: { containers: [{ name: 'simulation', image: 'fenicsx-toolbox:0.1.0' }] } } },
      status: { startTime: new Date().toISOString(), succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] },
    });
  }
  for (let i = 0; i < 5000; i++) {
    big.api.create('pods', {
      metadata: { name: `sim-${i}`, namespace: 'keystone', labels: { 'keystone.io/run-id': `x${i % 2000}` } },
      spec: { nodeName: 'k3d-keystone-cluster-agent-1', containers: [{ name: 'simulation', image: 'fenicsx-toolbox:0.1.0', resources: { limits: { cpu: '2', memory: '4Gi' } } }] },
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'simulation', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    });
  }
  await settle();
  say(`## 7. Scale: ${big.api.objects('pods').length} pods, ${big.api.objects('jobs').length} Jobs`);
  say();
  const rows = [];
  for (const [label, args] of [['`keystone pods -o json`', ['pods', '-o', 'json']], ['`keystone jobs -o json --all`', ['jobs', '-o', 'json', '--all']], ['`keystone status -o json`', ['status', '-o', 'json']], ['`keystone pods` (table)', ['pods']]]) {
    const t = [];
    const rss = [];
    for (let i = 0; i < 3; i++) {
      const r = await timed('/usr/bin/time', ['-f', '%M', node, cliPath, ...args], { env: bigEnv, cwd: big.project });
      t.push(r.ms);
      rss.push(Number(String(r.result.stderr).trim().split('\n').pop()) / 1024);
    }
    rows.push([label, fmt(median(t)), `${median(rss).toFixed(0)} MiB`]);
  }
  const kc = [];
  const kcRss = [];
  for (let i = 0; i < 3; i++) {
    const r = await timed('/usr/bin/time', ['-f', '%M', realKubectl, '--context', 'k3d-keystone-cluster', 'get', 'pods', '-n', 'keystone', '-o', 'json'], { env: bigEnv });
    kc.push(r.ms);
    kcRss.push(Number(String(r.result.stderr).trim().split('\n').pop()) / 1024);
  }
  rows.push(['`kubectl get pods -n keystone -o json` (reference)', fmt(median(kc)), `${median(kcRss).toFixed(0)} MiB`]);
  table(['command', 'wall time', 'peak memory (RSS)'], rows);
  await big.cleanup();
}

if (write) {
  const path = join(repoRoot, 'docs', 'performance.md');
  const current = await readFile(path, 'utf8').catch(() => '');
  const marker = '<!-- bench:figures -->';
  const [head] = current.split(marker);
  await writeFile(path, `${(head ?? '').trimEnd()}\n\n${marker}\n\n${out.join('\n').replace(/^# keystone performance figures\n\n/, '')}\n`);
  console.log(`wrote ${path}`);
}
