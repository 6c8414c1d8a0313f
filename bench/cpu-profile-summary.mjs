// Self time per script and per function of a V8 CPU profile (`node --cpu-prof`), heaviest first.
// `node bench/cpu-profile-summary.mjs FILE.cpuprofile [N]` prints it; bench/profile.mjs uses it too.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function summarize(profile, n = 15) {
  const self = new Map();
  const byUrl = new Map();
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  for (const [id, ms] of dt) {
    const { callFrame: f } = nodes.get(id);
    const url = f.url.replace(/^file:\/\/.*?\/(node_modules|dist|bin)\//, '$1/').replace(/^\/.*?\/(dist|bin)\//, '$1/') || '(native)';
    const key = `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + ms);
    byUrl.set(url, (byUrl.get(url) ?? 0) + ms);
  }
  const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, ms]) => `    ${ms.toFixed(1).padStart(6)} ms  ${k}`).join('\n');
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, ms]) => a + ms, 0);
  return `  profile: ${total.toFixed(0)} ms sampled (${idle.toFixed(0)} ms idle)\n  by script:\n${top(byUrl)}\n  by function:\n${top(self)}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(summarize(JSON.parse(readFileSync(process.argv[2], 'utf8')), Number(process.argv[3] ?? 15)));
}
