import { execa } from 'execa';
import { join } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { benchStack } from './stack.mjs';
const { sb, env: stackEnv } = await benchStack();
const env = Object.fromEntries(Object.entries(stackEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const cmds = {
  keystone: [join(process.cwd(), 'bin/keystone.cjs'), '__complete', 'scale', ''],
  floor: [join(process.cwd(), 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'],
};
const res = { keystone: [], floor: [] };
for (let i = 0; i < 22; i++) {
  for (const [k, c] of Object.entries(cmds)) {
    rmSync('/tmp/kt/timeline.txt', { force: true });
    const t0 = performance.now();
    await execa(process.execPath, ['-r', '/tmp/kt/timeline.cjs', ...c], { env, cwd: sb.project, extendEnv: false });
    const wall = performance.now() - t0;
    const m = JSON.parse(readFileSync('/tmp/kt/timeline.txt', 'utf8'));
    if (i >= 2) res[k].push({ wall, exit: m.exit, after: wall - m.exit });
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [k, rs] of Object.entries(res)) console.log(k.padEnd(10), ['wall', 'exit', 'after'].map((f) => `${f} ${med(rs.map((r) => r[f])).toFixed(1)}`).join('  '));
await sb.cleanup();
