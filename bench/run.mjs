// `npm run bench`: figures, not assertions. Alternates A and B so a noisy machine affects
// both alike, and prints medians and the ratio of each pair measured side by side.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'keystone.js');
const runs = Number(process.env.BENCH_RUNS ?? 15);

function time(cmd, args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function pair(name, a, b) {
  const ta = [];
  const tb = [];
  time(...a);
  time(...b); // warm the file cache
  for (let i = 0; i < runs; i++) {
    ta.push(time(...a));
    tb.push(time(...b));
  }
  return { name, a: median(ta), b: median(tb), ratio: median(ta) / median(tb) };
}

const node = process.execPath;
const cases = [
  ['keystone --version vs node -e 0', [node, [cli, '--version']], [node, ['-e', '0']]],
  ['keystone --help vs node -e 0', [node, [cli, '--help']], [node, ['-e', '0']]],
];
const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
if (kubectl.status === 0) {
  cases.push(['keystone --version vs kubectl version --client', [node, [cli, '--version']], ['kubectl', ['version', '--client']]]);
}

console.log(`keystone start-up benchmark: ${runs} alternating runs each, medians (node ${process.version}, ${process.platform}/${process.arch})`);
console.log('');
console.log('| case | A (ms) | B (ms) | A/B |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, a, b] of cases) {
  const r = pair(name, a, b);
  console.log(`| ${r.name} | ${r.a.toFixed(1)} | ${r.b.toFixed(1)} | ${r.ratio.toFixed(2)}x |`);
}
