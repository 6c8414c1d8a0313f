import { createSandbox, cliPath } from '../test/fakes/sandbox.mjs';
import { execa } from 'execa';
const sb = await createSandbox({ tls: true, nodeReadyDelayMs: 0, podStartDelayMs: 0 });
let r = await execa(process.execPath, [cliPath, 'setup'], { env: sb.env, cwd: sb.project, reject: false });
for (const a of [['pods','-o','json'], ['status','-o','json'], ['apply'], ['__complete','scale','']]) {
  for (let i = 0; i < 2; i++) r = await execa(process.execPath, [...(i ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof/' + a[0].replace(/_/g,'')] : []), cliPath, ...a], { env: { ...sb.env }, cwd: sb.project, reject: false });
  if (r.exitCode) console.log(a, r.exitCode, r.stderr);
}
await sb.cleanup();
