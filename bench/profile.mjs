// `npm run profile -- [case...] [--runs N] [--no-extra-ca] [--cpu-prof DIR]`: a focused, quick
// version of the bench for working on one case. Each case runs keystone and its kubectl
// counterpart alternately and prints the medians and their ratio; with --cpu-prof, keystone's
// last run of each case writes a V8 CPU profile into DIR (open it in Chrome DevTools), and the
// heaviest functions by self time are listed. Cases: help, version, pods, pods-table, events, jobs, status, logs, complete-pods,
// complete-deploy, complete-runs, apply, floor (plain Node, bench/node-floor.cjs) (default: all).
import { execa } from 'execa';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cliPath, repoRoot } from '../test/fakes/sandbox.mjs';
import { benchStack, resolveKubectl, workersWithLogs } from './stack.mjs';
import { summarize } from './cpu-profile-summary.mjs';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = argv.splice(i, 2);
  return value;
};
const runs = Number(flag('--runs') ?? 7);
const profDir = flag('--cpu-prof');
const noExtraCa = argv.includes('--no-extra-ca') ? argv.splice(argv.indexOf('--no-extra-ca'), 1) && true : false;
const wanted = argv.length ? argv : null;
const node = process.execPath;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { sb, env: stackEnv } = await benchStack();
const kubectl = await resolveKubectl(sb.api.controlUrl); // the same binary as the bench (bench/stack.mjs)
const extra = noExtraCa
  ? {}
  : process.env.NODE_EXTRA_CA_CERTS
    ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }
    : {};
const env = { ...Object.fromEntries(Object.entries(stackEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS')), ...extra };
const ks = (...args) => [node, [cliPath, ...args], { env, cwd: sb.project }];
const kc = (...args) => [kubectl.real, ['--context', 'k3d-keystone-cluster', ...args], { env }];
const cases = {
  version: [ks('--version'), [node, ['-e', '0'], { env }]],
  help: [ks('--help'), [node, ['-e', '0'], { env }]],
  pods: [ks('pods', '-o', 'json'), kc('get', 'pods', '-n', 'keystone', '-o', 'json')],
  'pods-table': [ks('pods'), kc('get', 'pods', '-n', 'keystone')],
  events: [ks('events'), kc('events', '-n', 'keystone')],
  jobs: [ks('jobs'), kc('get', 'jobs', '-n', 'keystone')],
  status: [
    ks('status', '-o', 'json'),
    [
      '/bin/sh',
      [
        '-c',
        `${kubectl.real} --context k3d-keystone-cluster get nodes -o json >/dev/null && ${kubectl.real} --context k3d-keystone-cluster get deploy,pvc,svc,jobs -n keystone -o json >/dev/null`,
      ],
      { env },
    ],
  ],
  'complete-pods': [ks('__complete', 'shell', ''), kc('get', 'pods', '-n', 'keystone', '-o', 'name')],
  'complete-deploy': [ks('__complete', 'scale', ''), kc('get', 'deployments', '-n', 'keystone', '-o', 'name')],
  'complete-runs': [
    ks('__complete', 'jobs', 'logs', ''),
    kc('get', 'jobs', '-n', 'keystone', '-l', 'keystone.io/run-id', '-o', 'name'),
  ],
  apply: [ks('apply'), kc('apply', '--server-side', '--validate=false', '-f', join(sb.project, 'k8s', 'manifests'))],
  // No keystone code: what Node itself costs for one HTTPS GET of the deployments.
  floor: [
    [
      node,
      [join(repoRoot, 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'],
      { env },
    ],
    kc('get', 'deployments', '-n', 'keystone', '-o', 'name'),
  ],
  // 20 pods × 10,000 lines, as the bench's section 6 (made by workersWithLogs when this case comes), to /dev/null.
  logs: [
    [...ks('logs', 'celery-worker').slice(0, 2), { ...ks()[2], stdout: 'ignore' }],
    [
      ...kc(
        'logs',
        '-l',
        'app=celery-worker',
        '-n',
        'keystone',
        '--prefix',
        '--tail=-1',
        '--max-log-requests',
        '20',
      ).slice(0, 2),
      { env, stdout: 'ignore' },
    ],
  ],
};

async function timed([cmd, args, options]) {
  const start = performance.now();
  const r = await execa(cmd, args, { reject: false, extendEnv: false, ...options });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.exitCode}: ${r.stderr}`);
  return performance.now() - start;
}

console.log(
  `kubectl: ${kubectl.real} (${kubectl.version}); NODE_EXTRA_CA_CERTS ${extra.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'}; ${runs} runs`,
);
for (const [name, [a, b]] of Object.entries(cases)) {
  if (wanted && !wanted.includes(name)) continue;
  // The other cases keep the bench's stack as it is.
  if (name === 'logs') await workersWithLogs(sb);
  await timed(a);
  await timed(b);
  const ta = [];
  const tb = [];
  for (let i = 0; i < runs; i++) {
    ta.push(await timed(a));
    tb.push(await timed(b));
  }
  console.log(
    `${name.padEnd(16)} keystone ${median(ta).toFixed(1)} ms  other ${median(tb).toFixed(1)} ms  ratio ${(median(ta) / median(tb)).toFixed(2)}×`,
  );
  if (profDir) {
    const dir = join(profDir, name);
    await mkdir(dir, { recursive: true });
    await timed([a[0], ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...a[1]], a[2]]);
    const latest = (await readdir(dir))
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .pop();
    console.log(summarize(JSON.parse(await readFile(join(dir, latest), 'utf8'))));
  }
}
await sb.cleanup();
