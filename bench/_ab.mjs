// A/B: node bench/_ab.mjs DIR_A DIR_B [runs]: each DIR holds bin/ dist/ package.json (node_modules symlinked)
import { execa } from 'execa';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { benchStack, resolveKubectl } from './stack.mjs';
const [A, B, n = '30'] = process.argv.slice(2);
const { sb, env: stackEnv } = await benchStack();
const kubectl = await resolveKubectl(sb.api.controlUrl);
const env = Object.fromEntries(Object.entries(stackEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const args = (process.env.AB_ARGS ?? '__complete scale ').split(' ');
const cmds = {
  A: [process.execPath, [join(A, 'bin/keystone.cjs'), ...args], { env, cwd: sb.project }],
  B: [process.execPath, [join(B, 'bin/keystone.cjs'), ...args], { env, cwd: sb.project }],
  kubectl: [kubectl.real, ['--context', 'k3d-keystone-cluster', 'get', 'deployments', '-n', 'keystone', '-o', 'name'], { env }],
  floor: [process.execPath, [join(process.cwd(), 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'], { env }],
};
const t = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
const cpu = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
for (let i = -2; i < Number(n); i++) {
  for (const [k, [c, a, o]] of Object.entries(cmds)) {
    const s = performance.now();
    const r = await execa('/usr/bin/time', ['-f', '%U %S', c, ...a], { ...o, extendEnv: false, reject: false });
    const wall = performance.now() - s;
    if (r.exitCode !== 0) throw new Error(`${k}: ${r.stderr}`);
    if (i === 0 && k !== 'kubectl') console.log(k, JSON.stringify(r.stdout.slice(0, 60)));
    const [u, sy] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    if (i >= 0) { t[k].push(wall); cpu[k].push((u + sy) * 1000); }
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const k of Object.keys(cmds)) console.log(`${k.padEnd(8)} wall median ${med(t[k]).toFixed(1)} ms  (÷kubectl ${(med(t[k]) / med(t.kubectl)).toFixed(3)})  cpu mean ${mean(cpu[k]).toFixed(1)} ms`);
await sb.cleanup();
