import { execa } from 'execa';
import { join } from 'node:path';
import { benchStack } from './stack.mjs';
const [D, ...flags] = process.argv.slice(2);
const { sb, env: stackEnv } = await benchStack();
const env = Object.fromEntries(Object.entries(stackEnv).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const args = (process.env.AB_ARGS ?? '__complete scale ').split(' ');
const cmd = D === 'floor' ? [join(process.cwd(), 'bench', 'node-floor.cjs'), sb.kubeconfig, '/apis/apps/v1/namespaces/keystone/deployments'] : [join(D, 'bin/keystone.cjs'), ...args];
for (let i = 0; i < 2; i++) { const r = await execa(process.execPath, [...flags, ...cmd], { env, cwd: sb.project, extendEnv: false }); if (i) console.log(r.stdout); }
await sb.cleanup();
