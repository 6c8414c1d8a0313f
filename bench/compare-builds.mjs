// Two or more builds of keystone against each other and kubectl, interleaved in the same rounds, on
// the bench's stack (bench/stack.mjs): how the before/after figures of docs/performance.md's
// seventh pass were made. A build is a directory holding a copy of bin/, dist/ and package.json
// (`mkdir /tmp/old && cp -r bin dist package.json /tmp/old`, before a change).
// `node bench/compare-builds.mjs ROUNDS case,case,... BUILD_DIR...`; WITH_CA=path sets
// NODE_EXTRA_CA_CERTS for every command; PROF=DIR writes CPU profiles of the first build instead.
// Cases: pods podsjson events eventsjson jobs jobsjson describe top status tabpods tabdeploy logs floor node0.
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchStack, resolveKubectl, workersWithLogs } from './stack.mjs';
import { interleaved, stopMeasuring } from './measure.mjs';
const repo = fileURLToPath(new URL('..', import.meta.url));
const [runsArg, casesArg, ...builds] = process.argv.slice(2);
const runs = Number(runsArg);
const { sb, env: stackEnv } = await benchStack();
const kubectl = await resolveKubectl(sb.api.controlUrl);
const env = Object.fromEntries(Object.entries(stackEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
if (process.env.WITH_CA) env.NODE_EXTRA_CA_CERTS = process.env.WITH_CA;
const node = process.execPath;
const kc = (...a) => [kubectl.real, ['--context', 'k3d-keystone-cluster', ...a], { env }];
if (casesArg.includes('logs')) await workersWithLogs(sb);
const cases = {
  pods: [['pods'], kc('get', 'pods', '-n', 'keystone')],
  podsjson: [['pods', '-o', 'json'], kc('get', 'pods', '-n', 'keystone', '-o', 'json')],
  events: [['events'], kc('events', '-n', 'keystone')],
  eventsjson: [['events', '-o', 'json'], kc('events', '-n', 'keystone', '-o', 'json')],
  jobs: [['jobs'], kc('get', 'jobs', '-n', 'keystone')],
  jobsjson: [['jobs', '-o', 'json'], kc('get', 'jobs', '-n', 'keystone', '-o', 'json')],
  describe: [['describe', 'celery-worker'], kc('describe', 'deployment', 'celery-worker', '-n', 'keystone')],
  top: [
    ['top'],
    [
      '/bin/sh',
      [
        '-c',
        `"$0" --context k3d-keystone-cluster top nodes && "$0" --context k3d-keystone-cluster top pods -n keystone`,
        kubectl.real,
      ],
      { env },
    ],
  ],
  status: [
    ['status'],
    [
      '/bin/sh',
      [
        '-c',
        `"$0" --context k3d-keystone-cluster get nodes && "$0" --context k3d-keystone-cluster get deploy,pods -n keystone`,
        kubectl.real,
      ],
      { env },
    ],
  ],
  tabpods: [['__complete', 'shell', ''], kc('get', 'pods', '-n', 'keystone', '-o', 'name')],
  tabdeploy: [['__complete', 'scale', ''], kc('get', 'deployments', '-n', 'keystone', '-o', 'name')],
  logs: [
    ['logs', 'celery-worker'],
    kc('logs', '-l', 'app=celery-worker', '-n', 'keystone', '--prefix', '--tail=-1', '--max-log-requests', '20'),
  ],
  floor: [null, kc('get', 'deployments', '-n', 'keystone', '-o', 'name')],
  node0: [null, [node, ['-e', '0'], { env }]],
};
console.log(
  `load at start ${loadavg()
    .map((x) => x.toFixed(1))
    .join(', ')}`,
);
for (const name of casesArg.split(',')) {
  const [args, other] = cases[name];
  const cmds = builds.map((b) =>
    args
      ? [node, [join(b, 'bin', 'keystone.cjs'), ...args], { env, cwd: sb.project }]
      : name === 'floor'
        ? [
            node,
            [join(repo, 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'],
            { env },
          ]
        : [node, ['-e', '0'], { env }],
  );
  if (process.env.PROF) {
    const { measure } = await import('./measure.mjs');
    const dir = join(process.env.PROF, name);
    for (let i = 0; i < Number(process.env.PROFN ?? 5); i++) {
      const c = cmds[0];
      await measure([c[0], ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '200', ...c[1]], c[2]]);
    }
    continue;
  }
  const res = await interleaved([...cmds, other], runs);
  const k = res.at(-1);
  const line = res.map(
    (r, i) =>
      `${i < builds.length ? builds[i].split('/').pop() : 'kubectl'} cpu ${r.cpu.median.toFixed(1)} (${(r.cpu.median / k.cpu.median).toFixed(2)}×) wall ${r.wall.median.toFixed(0)} (${(r.wall.median / k.wall.median).toFixed(2)}×) rss ${r.rss.median.toFixed(0)}`,
  );
  console.log(`${name.padEnd(10)} ${line.join(' | ')}`);
}
console.log(
  `load at end ${loadavg()
    .map((x) => x.toFixed(1))
    .join(', ')}`,
);
stopMeasuring();
await sb.cleanup();
process.exit(0);
