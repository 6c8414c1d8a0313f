import { execa } from 'execa';
import { join } from 'node:path';
import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { benchStack, resolveKubectl } from './stack.mjs';
import { summarize } from './cpu-profile-summary.mjs';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { sb, env: stackEnv } = await benchStack();
const kubectl = await resolveKubectl(sb.api.controlUrl);
const env = Object.fromEntries(Object.entries({ ...process.env, ...stackEnv }).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const pods = 20, lines = 10000;
await fetch(`${sb.api.controlUrl}/apis/apps/v1/namespaces/keystone/deployments/celery-worker/scale?fieldManager=bench`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: pods } }) });
for (let i = 0; i < 2000 && sb.api.objects('pods').filter((p) => p.metadata.labels?.app === 'celery-worker' && p.status?.phase === 'Running').length < pods; i++) await sleep(10);
const workers = sb.api.objects('pods').filter((p) => p.metadata.labels?.app === 'celery-worker' && p.status?.phase === 'Running');
for (const pod of workers) for (let j = 0; j < lines; j++) sb.api.appendLog('keystone', pod.metadata.name, 'worker', `${pod.metadata.name} line ${j} ${'payload '.repeat(8)}end`);
const dir = process.env.KS_DIR ?? process.cwd();
const ks = [process.execPath, [join(dir, 'bin/keystone.cjs'), 'logs', 'celery-worker']];
const kc = [kubectl.real, ['--context', 'k3d-keystone-cluster', 'logs', '-l', 'app=celery-worker', '-n', 'keystone', '--prefix', '--tail=-1', '--max-log-requests', String(pods)]];
const t = { ks: [], kc: [] }, cpu = { ks: [], kc: [] };
for (let i = 0; i < Number(process.argv[2] ?? 5); i++) {
  for (const [k, [c, a]] of Object.entries({ ks, kc })) {
    const s = performance.now();
    const r = await execa('/usr/bin/time', ['-f', 'CPU %U %S', c, ...a], { env, cwd: sb.project, extendEnv: false, maxBuffer: 1e9 });
    t[k].push(performance.now() - s);
    const [u, sy] = r.stderr.split('\n').find((l) => l.startsWith('CPU')).split(' ').slice(1).map(Number);
    cpu[k].push((u + sy) * 1000);
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const k of ['ks', 'kc']) console.log(k, 'wall', med(t[k]).toFixed(0), 'cpu', med(cpu[k]).toFixed(0));
if (process.env.PROF) {
  rmSync('/tmp/kt/prof-logs', { recursive: true, force: true }); mkdirSync('/tmp/kt/prof-logs');
  await execa(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/kt/prof-logs', ...ks[1]], { env, cwd: sb.project, extendEnv: false, maxBuffer: 1e9 });
  console.log(summarize(readdirSync('/tmp/kt/prof-logs').map((f) => JSON.parse(readFileSync(join('/tmp/kt/prof-logs', f), 'utf8'))), 30));
}
await sb.cleanup();
