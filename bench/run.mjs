// `npm run bench`: keystone against kubectl on the fake API server (which real kubectl speaks
// to as well) over TLS with a client certificate, figures not assertions. The commands of a case
// run in turn, round after round (A B C, A B C, …), so a change in this shared machine's load
// falls on all of them alike; each figure is a median with its spread (half the interquartile
// range, as ± % of the median), CPU time beside wall time, and the load average is printed with
// every section. `npm run bench -- --write` also writes the figures into docs/performance.md
// (and the growth charts beside it); `--only reads,growth,…` runs some sections (never written).
import { execa } from 'execa';
import { build } from 'esbuild';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createSandbox, cliPath, repoRoot } from '../test/fakes/sandbox.mjs';
import { benchStack, resolveKubectl, workersWithLogs } from './stack.mjs';
import { interleaved, measure, stopMeasuring } from './measure.mjs';

// 15 rounds: medians of 10 moved by ±5% between runs on this shared machine.
const runs = Number(process.env.BENCH_RUNS ?? 15);
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1].split(',')) : undefined;
const write = process.argv.includes('--write') && !only;
const wanted = (section) => !only || only.has(section);
const node = process.execPath;
const out = [];
const say = (line = '') => {
  out.push(line);
  console.log(line);
};
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
const spread = (st) => `±${Math.round(((st.p75 - st.p25) / 2 / st.median) * 100)}%`;
const withSpread = (st) => `${fmt(st.median)} ${spread(st)}`;
const mib = (st) => `${st.median.toFixed(0)} MiB`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(', ');
const sayLoad = () => {
  say(`Load average (1, 5, 15 min) when this section ended: ${load()}.`);
  say();
};

// NODE_EXTRA_CA_CERTS makes every Node process load a CA bundle at start; kubectl never pays it.
// Node cases run with the environment as found and without the variable.
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const withCa = (env) => (extraCa ? { ...env, NODE_EXTRA_CA_CERTS: extraCa } : env);

function table(headers, rows) {
  say(`| ${headers.join(' | ')} |`);
  say(`| ${headers.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of rows) say(`| ${row.join(' | ')} |`);
  say();
}

/** For sections that need a command's output: execa, failing on a non-zero exit. */
async function timed(cmd, args, options = {}) {
  const start = performance.now();
  const result = await execa(cmd, args, {
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 1024 * 1024 * 1024,
    extendEnv: false,
    ...options,
    env: { ...baseEnv, ...options.env },
  });
  const ms = performance.now() - start;
  if (result.exitCode !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${result.exitCode}: ${String(result.stderr).slice(0, 500)}`);
  return { ms, result };
}

function rolloutComplete(d) {
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want
  );
}

// A realistic stack (bench/stack.mjs): 5 nodes, the keystone Deployments, 100 finished
// simulation Jobs with 200 pods in all, served over HTTPS with client-certificate auth as a k3d
// cluster is; and the real kubectl binary, not the dispatcher that may be on PATH.
const { sb, env: stackEnv } = await benchStack();
const env = { ...Object.fromEntries(Object.entries(stackEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS')) };
const kubectlInfo = await resolveKubectl(sb.api.controlUrl);
const realKubectl = kubectlInfo.real;
// metrics-server's answers for `top` (the fake serves metrics.k8s.io only when given them).
sb.api.metrics = {
  nodes: Object.fromEntries(
    sb.api.objects('nodes').map((n, i) => [n.metadata.name, { cpu: `${250 + i * 10}m`, memory: `${512 + i}Mi` }]),
  ),
  pods: Object.fromEntries(
    sb.api
      .objects('pods')
      .filter((p) => p.status?.phase === 'Running')
      .map((p) => [
        `keystone/${p.metadata.name}`,
        Object.fromEntries((p.spec.containers ?? []).map((c) => [c.name, { cpu: '12m', memory: '64Mi' }])),
      ]),
  ),
};

say(`# keystone performance figures`);
say();
say(
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` on ${cpus().length} × ${cpus()[0]?.model?.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}; load average (1, 5, 15 min) ${load()} when it started. Medians of ${runs} rounds unless noted, ± half the interquartile range. Ratio = keystone ÷ the other (lower is better for keystone). Wall and CPU time (user + system, the process and the children it waited for) and peak RSS come from wait4() (bench/rusage.py).`,
);
say();
say(`- kubectl: \`${realKubectl}\` (${kubectlInfo.version}), ${kubectlInfo.note}.`);
say(
  `- The fake API server speaks HTTPS with a private CA and requires a client certificate, as k3d's kubeconfig gives one (EC P-256, like k3s); keystone and kubectl both pay the TLS set-up.`,
);
say(
  `- NODE_EXTRA_CA_CERTS: ${extraCa ? `\`${extraCa}\` in the environment as found; Node cases are measured with it and without it` : 'not set here: the "with" columns are not measured'}.`,
);
say();

// --- 1. start-up ---------------------------------------------------------------------------
if (wanted('startup')) {
  say('## 1. Start-up');
  say();
  const rows = [];
  for (const [label, args] of [
    ['keystone --version', ['--version']],
    ['keystone --help', ['--help']],
  ]) {
    const [a, aCa, b, bCa] = await interleaved(
      [
        [node, [cliPath, ...args], { env: baseEnv }],
        [node, [cliPath, ...args], { env: withCa(baseEnv) }],
        [node, ['-e', '0'], { env: baseEnv }],
        [node, ['-e', '0'], { env: withCa(baseEnv) }],
      ],
      Math.max(runs, 15),
    );
    rows.push([
      `\`${label}\``,
      'without NODE_EXTRA_CA_CERTS',
      withSpread(a.wall),
      withSpread(b.wall),
      ratio(a.wall.median, b.wall.median),
      withSpread(a.cpu),
      withSpread(b.cpu),
      ratio(a.cpu.median, b.cpu.median),
    ]);
    if (extraCa)
      rows.push([
        `\`${label}\``,
        'with it',
        withSpread(aCa.wall),
        withSpread(bCa.wall),
        ratio(aCa.wall.median, bCa.wall.median),
        withSpread(aCa.cpu),
        withSpread(bCa.cpu),
        ratio(aCa.cpu.median, bCa.cpu.median),
      ]);
  }
  table(
    ['keystone', 'environment', 'keystone', '`node -e 0`', 'ratio', 'CPU keystone', 'CPU `node -e 0`', 'CPU ratio'],
    rows,
  );
  sayLoad();
}

const ks = (args, e = env) => [node, [cliPath, ...args], { env: e, cwd: sb.project }];
const kubectl = (args) => [realKubectl, ['--context', 'k3d-keystone-cluster', ...args], { env }];
const kubectlBoth = (first, second) => [
  '/bin/sh',
  ['-c', `"$0" --context k3d-keystone-cluster ${first} && "$0" --context k3d-keystone-cluster ${second}`, realKubectl],
  { env },
];
/** How many API requests one run of a command makes (the fake server counts them). */
/** The API requests one run of a command makes, and the k3d processes it starts (the fake k3d logs each call). */
async function requestsOf(cmd) {
  const before = sb.api.requests.length;
  const k3dCalls = async () =>
    (await readFile(join(sb.fake, 'calls.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.includes('"tool":"k3d"')).length;
  const k3dBefore = await k3dCalls();
  await measure(cmd);
  const k3d = (await k3dCalls()) - k3dBefore;
  return `${sb.api.requests.length - before}${k3d ? ` + ${k3d} k3d` : ''}`;
}

// --- 2. reads ------------------------------------------------------------------------------
if (wanted('reads')) {
  const worker = sb.api.objects('deployments').find((d) => d.metadata.name === 'celery-worker')
    ? 'celery-worker'
    : sb.api.objects('deployments')[0].metadata.name;
  const cases = [
    ['`pods`', ['pods'], '`get pods`', kubectl(['get', 'pods', '-n', 'keystone'])],
    [
      '`pods -o json`',
      ['pods', '-o', 'json'],
      '`get pods -o json`',
      kubectl(['get', 'pods', '-n', 'keystone', '-o', 'json']),
    ],
    ['`events`', ['events'], '`events`', kubectl(['events', '-n', 'keystone'])],
    [
      '`events -o json`',
      ['events', '-o', 'json'],
      '`events -o json`',
      kubectl(['events', '-n', 'keystone', '-o', 'json']),
    ],
    ['`jobs`', ['jobs'], '`get jobs`', kubectl(['get', 'jobs', '-n', 'keystone'])],
    [
      '`jobs -o json`',
      ['jobs', '-o', 'json'],
      '`get jobs -o json`',
      kubectl(['get', 'jobs', '-n', 'keystone', '-o', 'json']),
    ],
    [
      `\`describe ${worker}\``,
      ['describe', worker],
      `\`describe deployment ${worker}\``,
      kubectl(['describe', 'deployment', worker, '-n', 'keystone']),
    ],
    [
      `\`describe ${worker} -o json\``,
      ['describe', worker, '-o', 'json'],
      `\`describe deployment ${worker}\``,
      kubectl(['describe', 'deployment', worker, '-n', 'keystone']),
    ],
    ['`top`', ['top'], '`top nodes` + `top pods`', kubectlBoth('top nodes', 'top pods -n keystone')],
    [
      '`top -o json`',
      ['top', '-o', 'json'],
      '`top nodes` + `top pods`',
      kubectlBoth('top nodes', 'top pods -n keystone'),
    ],
    [
      '`status`',
      ['status'],
      '`get nodes` + `get deploy,pods`',
      kubectlBoth('get nodes', 'get deploy,pods -n keystone'),
    ],
    [
      '`status -o json`',
      ['status', '-o', 'json'],
      '`get nodes -o json` + `get deploy,pods -o json`',
      kubectlBoth('get nodes -o json', 'get deploy,pods -n keystone -o json'),
    ],
    [
      'TAB: pods (`__complete shell ""`)',
      ['__complete', 'shell', ''],
      '`get pods -o name`',
      kubectl(['get', 'pods', '-n', 'keystone', '-o', 'name']),
    ],
    [
      'TAB: deployments (`__complete scale ""`)',
      ['__complete', 'scale', ''],
      '`get deploy -o name`',
      kubectl(['get', 'deployments', '-n', 'keystone', '-o', 'name']),
    ],
    [
      'TAB: runs (`__complete jobs logs ""`)',
      ['__complete', 'jobs', 'logs', ''],
      '`get jobs -l keystone.io/run-id -o name`',
      kubectl(['get', 'jobs', '-n', 'keystone', '-l', 'keystone.io/run-id', '-o', 'name']),
    ],
  ];
  say(
    `## 2. Reads over TLS (${sb.api.objects('nodes').length} nodes, ${sb.api.objects('pods').length} pods, ${sb.api.objects('jobs').length} Jobs, ${sb.api.objects('events').length} events)`,
  );
  say();
  say(
    'Each keystone read against the kubectl command(s) showing the same facts, the kubectl half run in the same rounds; "requests" counts what each sends to the API server (kubectl\'s discovery comes from its warm cache), and "+ N k3d" the k3d processes a command starts (their CPU is counted in keystone\'s).',
  );
  say();
  const rows = [];
  const caRows = [];
  // What plain Node costs for one HTTPS GET with the kubeconfig's CA and certificate, no keystone code (bench/node-floor.cjs).
  const floor = [
    node,
    [join(repoRoot, 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'],
    { env },
  ];
  for (const [label, args, kcLabel, kcCmd] of [
    ...cases,
    [
      'plain Node, one HTTPS GET (`bench/node-floor.cjs`, reference)',
      null,
      '`get deploy -o name`',
      kubectl(['get', 'deployments', '-n', 'keystone', '-o', 'name']),
    ],
  ]) {
    const a = args ? ks(args) : floor;
    const aCa = [a[0], a[1], { ...a[2], env: withCa(a[2].env) }];
    const [r, rCa, k] = await interleaved(extraCa ? [a, aCa, kcCmd] : [a, kcCmd], runs).then((x) =>
      extraCa ? x : [x[0], undefined, x[1]],
    );
    const requests = args ? `${await requestsOf(a)} / ${await requestsOf(kcCmd)}` : '';
    rows.push([
      label,
      kcLabel,
      requests,
      withSpread(r.wall),
      withSpread(k.wall),
      ratio(r.wall.median, k.wall.median),
      withSpread(r.cpu),
      withSpread(k.cpu),
      ratio(r.cpu.median, k.cpu.median),
      `${mib(r.rss)} / ${mib(k.rss)}`,
    ]);
    if (rCa)
      caRows.push([
        label,
        withSpread(rCa.wall),
        ratio(rCa.wall.median, k.wall.median),
        withSpread(rCa.cpu),
        ratio(rCa.cpu.median, k.cpu.median),
        mib(rCa.rss),
      ]);
  }
  say('Without NODE_EXTRA_CA_CERTS:');
  say();
  table(
    [
      'keystone',
      'kubectl',
      'requests',
      'wall keystone',
      'wall kubectl',
      'ratio',
      'CPU keystone',
      'CPU kubectl',
      'CPU ratio',
      'RSS keystone / kubectl',
    ],
    rows,
  );
  if (caRows.length) {
    say('With NODE_EXTRA_CA_CERTS (against the same kubectl runs):');
    say();
    table(['keystone', 'wall', 'ratio', 'CPU', 'CPU ratio', 'RSS'], caRows);
  }
  sayLoad();
}

// --- 3. growth -----------------------------------------------------------------------------
if (wanted('growth')) {
  const big = await createSandbox({ nodeReadyDelayMs: 0, podStartDelayMs: 0, tls: true });
  const bigEnv = {
    ...Object.fromEntries(Object.entries(big.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS')),
    PATH: `${big.bin}:${process.env.PATH}`,
  };
  await timed(node, [cliPath, 'setup'], { env: bigEnv, cwd: big.project });
  big.cluster.paused = true;
  const sizes = [10, 100, 300, 1000, 3000];
  const commands = [
    ['keystone pods', [node, [cliPath, 'pods'], { env: bigEnv, cwd: big.project }]],
    ['keystone pods -o json', [node, [cliPath, 'pods', '-o', 'json'], { env: bigEnv, cwd: big.project }]],
    [
      'kubectl get pods',
      [realKubectl, ['--context', 'k3d-keystone-cluster', 'get', 'pods', '-n', 'keystone'], { env: bigEnv }],
    ],
    [
      'kubectl get pods -o json',
      [
        realKubectl,
        ['--context', 'k3d-keystone-cluster', 'get', 'pods', '-n', 'keystone', '-o', 'json'],
        { env: bigEnv },
      ],
    ],
  ];
  const results = [];
  let made = 0;
  for (const size of sizes) {
    const have = big.api.objects('pods').filter((p) => p.metadata.namespace === 'keystone').length;
    for (let i = have; i < size; i++, made++) {
      big.api.create('pods', {
        metadata: {
          name: `sim-${String(made).padStart(5, '0')}`,
          namespace: 'keystone',
          labels: { 'keystone.io/run-id': `x${made % 500}` },
        },
        spec: {
          nodeName: 'k3d-keystone-cluster-agent-1',
          containers: [
            { name: 'simulation', image: 'fenicsx-toolbox:0.1.0', resources: { limits: { cpu: '2', memory: '4Gi' } } },
          ],
        },
        status: {
          phase: 'Succeeded',
          containerStatuses: [
            { name: 'simulation', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          ],
        },
      });
    }
    await sleep(10);
    const count = big.api.objects('pods').filter((p) => p.metadata.namespace === 'keystone').length;
    results.push({
      pods: count,
      stats: await interleaved(
        commands.map(([, c]) => c),
        size >= 1000 ? Math.max(3, Math.round(runs / 3)) : Math.max(5, Math.round(runs / 2)),
      ),
    });
  }
  await big.cleanup();
  say(`## 3. Growth: from ${results[0].pods} to ${results.at(-1).pods} pods (without NODE_EXTRA_CA_CERTS)`);
  say();
  say('Wall time, CPU time and peak RSS of each command at each size (fewer rounds for the two largest).');
  say();
  table(
    ['pods', ...commands.flatMap(([label]) => [`${label}: wall`, 'CPU', 'RSS'])],
    results.map((r) => [
      String(r.pods),
      ...r.stats.flatMap((s) => [fmt(s.wall.median), fmt(s.cpu.median), mib(s.rss)]),
    ]),
  );
  const last = results.at(-1).stats;
  say(
    `At ${results.at(-1).pods} pods keystone ÷ kubectl: table ${ratio(last[0].cpu.median, last[2].cpu.median)} CPU, ${ratio(last[0].rss.median, last[2].rss.median)} RSS; JSON ${ratio(last[1].cpu.median, last[3].cpu.median)} CPU, ${ratio(last[1].rss.median, last[3].rss.median)} RSS.`,
  );
  say();
  const charts = await renderGrowthCharts(
    commands.map(([label]) => label),
    results,
  );
  say('![CPU time against the number of pods](performance-growth-cpu.svg)');
  say();
  say('![Peak RSS against the number of pods](performance-growth-rss.svg)');
  say();
  if (write) for (const [name, svg] of Object.entries(charts)) await writeFile(join(repoRoot, 'docs', name), svg);
  sayLoad();
}

/** The charts of section 3, drawn by keystone's own SVG chart module (src/plot/svg-chart.ts). */
async function renderGrowthCharts(labels, results) {
  const dir = await mkdtemp(join(tmpdir(), 'keystone-bench-plot-'));
  try {
    await build({
      entryPoints: [join(repoRoot, 'src', 'plot', 'svg-chart.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: join(dir, 'svg-chart.mjs'),
      external: ['@resvg/resvg-js'],
      logLevel: 'error',
    });
    const { renderSvg } = await import(pathToFileURL(join(dir, 'svg-chart.mjs')).href);
    const chart = (yLabel, pick, title) =>
      renderSvg({
        title,
        xLabel: 'pods in the namespace',
        yLabel,
        logY: false,
        series: labels.map((name, i) => ({ name, points: results.map((r) => [r.pods, pick(r.stats[i])]) })),
      });
    return {
      'performance-growth-cpu.svg': chart(
        'CPU time (ms)',
        (s) => Number(s.cpu.median.toFixed(1)),
        'CPU time of one list, over TLS',
      ),
      'performance-growth-rss.svg': chart(
        'peak RSS (MiB)',
        (s) => Number(s.rss.median.toFixed(1)),
        'Peak memory of one list',
      ),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// --- 4. apply, 5. waits --------------------------------------------------------------------
if (wanted('apply')) {
  say('## 4. Apply `k8s/manifests/` (server-side, nothing changed)');
  say();
  const count = async (cmd) => {
    const before = sb.api.requests.length;
    await measure(cmd);
    const made = sb.api.requests.slice(before);
    return {
      total: made.length,
      discovery: made.filter(
        (q) =>
          q.path === '/api' ||
          q.path === '/apis' ||
          /^\/apis?\/[^/]+(\/[^/]+)?$/.test(q.path) ||
          q.path.startsWith('/openapi'),
      ).length,
    };
  };
  const ksApply = ks(['apply']);
  // The fake serves no OpenAPI schemas, so kubectl's client-side validation is off: that only makes kubectl faster.
  const kcApply = kubectl(['apply', '--server-side', '--validate=false', '-f', join(sb.project, 'k8s', 'manifests')]);
  const [a, aCa, k] = await interleaved([ksApply, ks(['apply'], withCa(env)), kcApply], runs);
  table(
    ['case', 'environment', 'keystone', 'kubectl', 'ratio', 'CPU keystone', 'CPU kubectl', 'CPU ratio'],
    [
      [
        '`keystone apply` vs `kubectl apply --server-side` (warm discovery cache)',
        'without NODE_EXTRA_CA_CERTS',
        withSpread(a.wall),
        withSpread(k.wall),
        ratio(a.wall.median, k.wall.median),
        withSpread(a.cpu),
        withSpread(k.cpu),
        ratio(a.cpu.median, k.cpu.median),
      ],
      ...(extraCa
        ? [
            [
              '',
              'with it',
              withSpread(aCa.wall),
              '',
              ratio(aCa.wall.median, k.wall.median),
              withSpread(aCa.cpu),
              '',
              ratio(aCa.cpu.median, k.cpu.median),
            ],
          ]
        : []),
    ],
  );
  const ksCount = await count(ksApply);
  const kcCount = await count(kcApply);
  const kcCold = await count([
    realKubectl,
    [
      '--context',
      'k3d-keystone-cluster',
      '--cache-dir',
      join(sb.root, `cold-cache-${Date.now()}`),
      'apply',
      '--server-side',
      '--validate=false',
      '-f',
      join(sb.project, 'k8s', 'manifests'),
    ],
    { env },
  ]);
  table(
    ['', 'HTTP requests', 'discovery requests'],
    [
      ['`keystone apply`', String(ksCount.total), String(ksCount.discovery)],
      ['`kubectl apply --server-side` (warm discovery cache)', String(kcCount.total), String(kcCount.discovery)],
      ['`kubectl apply --server-side` (cold cache)', String(kcCold.total), String(kcCold.discovery)],
    ],
  );
  say(
    `keystone's requests: one apply PATCH per manifest object and one POST for the Redis password Secret (answered 409 when it exists).`,
  );
  say();
  sayLoad();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
if (wanted('waits')) {
  say('## 5. Waits: from the API reporting the rollout complete to the command returning');
  say();
  let completeAt = 0;
  let wasComplete = true;
  let listening = true;
  sb.api.onChange((resource, _type, obj) => {
    if (!listening || resource !== 'deployments' || obj.metadata.name !== 'celery-worker') return;
    const complete = rolloutComplete(obj);
    if (complete && !wasComplete) completeAt = performance.now();
    wasComplete = complete;
  });
  const program = sb.cluster.program;
  sb.cluster.program = () => ({ lines: [], exitCode: 0 });
  const waitFor = async (pred) => {
    for (let i = 0; i < 2000 && !pred(); i++) await sleep(5);
  };
  const deployment = () => sb.api.get('deployments', 'keystone', 'celery-worker');
  const scaleTo = (replicas) =>
    fetch(`${sb.api.controlUrl}/apis/apps/v1/namespaces/keystone/deployments/celery-worker/scale?fieldManager=bench`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas } }),
    });
  const resetTo2 = async () => {
    await scaleTo(2);
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
    await measure(ks(['scale', 'celery-worker', '3']));
    latencies.ksScale.push(performance.now() - completeAt);
    await resetTo2();
    await scaleTo(3);
    await measure(kubectl(['rollout', 'status', 'deployment/celery-worker', '-n', 'keystone']));
    latencies.kcScale.push(performance.now() - completeAt);
    await resetTo2();
    await measure(ks(['restart', 'celery-worker']));
    latencies.ksRestart.push(performance.now() - completeAt);
    await resetTo2();
    await sleep(1100); // kubectl refuses a second restart within the same second
    await measure(kubectl(['rollout', 'restart', 'deployment/celery-worker', '-n', 'keystone']));
    await measure(kubectl(['rollout', 'status', 'deployment/celery-worker', '-n', 'keystone']));
    latencies.kcRestart.push(performance.now() - completeAt);
  }
  await resetTo2();
  sb.cluster.podStartDelayMs = 0;
  sb.cluster.program = program;
  listening = false;
  table(
    ['operation', 'keystone', 'kubectl rollout status', 'ratio'],
    [
      [
        'scale celery-worker 2 → 3',
        fmt(median(latencies.ksScale)),
        fmt(median(latencies.kcScale)),
        ratio(median(latencies.ksScale), median(latencies.kcScale)),
      ],
      [
        'restart celery-worker',
        fmt(median(latencies.ksRestart)),
        fmt(median(latencies.kcRestart)),
        ratio(median(latencies.ksRestart), median(latencies.kcRestart)),
      ],
    ],
  );
  say('Both wait with watches; the figure includes each process exiting.');
  say();
  sayLoad();
}

// --- 6. logs -------------------------------------------------------------------------------
if (wanted('logs')) {
  const pods = 20;
  const lines = 10_000;
  const workers = await workersWithLogs(sb, { pods, lines });
  const total = workers.length * lines;
  say(`## 6. Logs: \`celery-worker\`, ${workers.length} pods × ${lines} lines (${total.toLocaleString('en')})`);
  say();
  const ksCmd = ks(['logs', 'celery-worker']);
  const kcCmd = kubectl([
    'logs',
    '-l',
    'app=celery-worker',
    '-n',
    'keystone',
    '--prefix',
    '--tail=-1',
    '--max-log-requests',
    String(pods),
  ]);
  // Every line arrives intact (one run of each, its output kept in a file).
  const check = async (cmd) => {
    const file = join(sb.root, 'logs-check.txt');
    await measure([cmd[0], cmd[1], { ...cmd[2], stdout: file }]);
    const got = (await readFile(file, 'utf8')).split('\n').filter((l) => l.endsWith('end'));
    return { lines: got.length, intact: got.every((l) => /\S+ line \d+ (payload ){8}end$/.test(l)) };
  };
  // Plain Node reading the same streams, no keystone code (bench/logs-floor.cjs): what Node itself costs.
  const floorCmd = [
    node,
    [join(repoRoot, 'bench', 'logs-floor.cjs'), sb.kubeconfig, 'keystone', 'app=celery-worker'],
    { env },
  ];
  const ksCheck = await check(ksCmd);
  const kcCheck = await check(kcCmd);
  const floorCheck = await check(floorCmd);
  // Then timed with stdout to /dev/null.
  const [a, aCa, k, fl] = await interleaved(
    [ksCmd, ks(['logs', 'celery-worker'], withCa(env)), kcCmd, floorCmd],
    Math.max(5, Math.round(runs / 3)),
  );
  const row = (label, s, c) => [
    label,
    withSpread(s.wall),
    Math.round(total / (s.wall.median / 1000)).toLocaleString('en'),
    withSpread(s.cpu),
    mib(s.rss),
    c ? `${c.lines} / ${total}` : '',
    c ? (c.intact ? 'yes' : 'NO') : '',
  ];
  table(
    ['', 'wall time', 'lines/s', 'CPU', 'peak RSS', 'payload lines received', 'all intact'],
    [
      row('`keystone logs celery-worker`', a, ksCheck),
      ...(extraCa ? [row('the same, with NODE_EXTRA_CA_CERTS', aCa)] : []),
      row('`kubectl logs -l app=celery-worker --prefix --tail=-1`', k, kcCheck),
      row('plain Node, the same streams (`bench/logs-floor.cjs`, reference)', fl, floorCheck),
      [
        'ratio keystone ÷ kubectl (without / with the variable)',
        `${ratio(a.wall.median, k.wall.median)} / ${ratio(aCa?.wall.median ?? NaN, k.wall.median)}`,
        '',
        `${ratio(a.cpu.median, k.cpu.median)} / ${ratio(aCa?.cpu.median ?? NaN, k.cpu.median)}`,
        `${ratio(a.rss.median, k.rss.median)} / ${ratio(aCa?.rss.median ?? NaN, k.rss.median)}`,
        '',
        '',
      ],
    ],
  );
  say('Output to /dev/null for the timed rounds, as in the issue; one more run of each into a file checks every line.');
  say();
  sayLoad();
}
await sb.cleanup();

// --- 7. setup overhead ---------------------------------------------------------------------
if (wanted('setup')) {
  say('## 7. `keystone setup` over instant fakes (fresh cluster each run)');
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
  table(
    ['', 'wall time', 'API requests'],
    [
      ['fresh setup (k3d, docker, kubectl fakes answer at once)', fmt(median(times)), String(median(requests))],
      ['second setup (nothing to do)', '', String(median(rerunRequests))],
    ],
  );
  sayLoad();
}

// --- 8. the speed layer --------------------------------------------------------------------
if (wanted('speed-layer')) {
  const { sb: lsb, env: lEnv0 } = await benchStack();
  const lEnv = Object.fromEntries(Object.entries(lEnv0).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
  // Each part switched off in a copy of the launcher beside the same dist/ (the shipped files are not touched).
  const variant = async (name, patches) => {
    const root = join(lsb.root, `launcher-${name}`);
    await mkdir(root, { recursive: true });
    await cp(join(repoRoot, 'bin'), join(root, 'bin'), { recursive: true });
    await symlink(join(repoRoot, 'dist'), join(root, 'dist'));
    await symlink(join(repoRoot, 'package.json'), join(root, 'package.json'));
    let text = await readFile(join(root, 'bin', 'keystone.cjs'), 'utf8');
    for (const [from, to] of patches) {
      if (!text.includes(from)) throw new Error(`speed layer: bin/keystone.cjs no longer has ${JSON.stringify(from)}`);
      text = text.replace(from, to);
    }
    await writeFile(join(root, 'bin', 'keystone.cjs'), text);
    return join(root, 'bin', 'keystone.cjs');
  };
  const noCache = await variant('no-compile-cache', [
    [
      "require('./compile-cache.cjs').installCompileCache(require('node:path').join(__dirname, '..', 'dist'))",
      'undefined',
    ],
  ]);
  const noHelp = await variant('no-prerendered-help', [
    [": only('--help', '-h') ? require('./prerendered-help.cjs').prerenderedHelp(process.stdout)", ''],
  ]);
  const noTab = await variant('no-fast-completion', [
    ["args[0] === '__complete' ? completeFast()", 'false ? completeFast()'],
  ]);
  const run = (launcher, args) => [node, [launcher, ...args], { env: lEnv, cwd: lsb.project }];
  const rows = [];
  const compare = async (part, label, args, off) => {
    const [on, without] = await interleaved([run(cliPath, args), run(off, args)], runs);
    rows.push([
      part,
      label,
      withSpread(on.wall),
      withSpread(without.wall),
      ratio(on.wall.median, without.wall.median),
      withSpread(on.cpu),
      withSpread(without.cpu),
      ratio(on.cpu.median, without.cpu.median),
    ]);
  };
  await compare('compile cache (bin/compile-cache.cjs)', '`pods`', ['pods'], noCache);
  await compare('', '`pods -o json`', ['pods', '-o', 'json'], noCache);
  await compare('', '`__complete scale ""`', ['__complete', 'scale', ''], noCache);
  await compare('', '`apply`', ['apply'], noCache);
  await compare('prerendered help (bin/prerendered-help.cjs, dist/help/)', '`--help`', ['--help'], noHelp);
  await compare(
    'fast completion path (src/completion/fast.ts, dist/complete.cjs)',
    '`__complete scale ""`',
    ['__complete', 'scale', ''],
    noTab,
  );
  await compare('', '`__complete shell ""`', ['__complete', 'shell', ''], noTab);
  await compare('', '`__complete jobs ""` (subcommands, no request)', ['__complete', 'jobs', ''], noTab);
  await lsb.cleanup();
  say('## 8. What each part of the speed layer buys (without NODE_EXTRA_CA_CERTS)');
  say();
  say(
    'The shipped launcher against a copy of it with one part switched off, beside the same build, in the same rounds.',
  );
  say();
  table(['part', 'command', 'with it', 'without it', 'ratio', 'CPU with', 'CPU without', 'CPU ratio'], rows);
  sayLoad();
}
stopMeasuring();

if (write) {
  const path = join(repoRoot, 'docs', 'performance.md');
  const current = await readFile(path, 'utf8').catch(() => '');
  const marker = '<!-- bench:figures -->';
  const [head] = current.split(marker);
  await writeFile(
    path,
    `${(head ?? '').trimEnd()}\n\n${marker}\n\n${out.join('\n').replace(/^# keystone performance figures\n\n/, '')}\n`,
  );
  console.log(`wrote ${path}`);
}
