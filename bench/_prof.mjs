import { execa } from 'execa';
import { join } from 'node:path';
import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { benchStack } from './stack.mjs';
import { summarize } from './cpu-profile-summary.mjs';
const [D, n = '10', top = '30'] = process.argv.slice(2);
const { sb, env: stackEnv } = await benchStack();
const env = Object.fromEntries(Object.entries(stackEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const args = (process.env.AB_ARGS ?? '__complete scale ').split(' ');
const out = '/tmp/kt/prof-' + (D === 'floor' ? 'floor' : D.split('/').pop());
rmSync(out, { recursive: true, force: true }); mkdirSync(out);
const cmd = D === 'floor' ? [join(process.cwd(), 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'] : [join(D, 'bin/keystone.cjs'), ...args];
for (let i = 0; i < Number(n) + 1; i++) {
  await execa(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${i ? out : '/tmp/kt/warm'}`, ...cmd], { env, cwd: sb.project, extendEnv: false });
}
console.log(summarize(readdirSync(out).map((f) => JSON.parse(readFileSync(join(out, f), 'utf8'))), Number(top)));
await sb.cleanup();
