// Self time per script and per function of a V8 CPU profile (`node --cpu-prof`), heaviest first.
// bench/profile.mjs uses it; it can also be run on profiles (below).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function summarize(profiles, n = 15) {
  profiles = Array.isArray(profiles) ? profiles : [profiles];
  const self = new Map();
  const byUrl = new Map();
  const dt = new Map();
  // Several profiles of the same command: the average of each (less noise from a busy machine).
  for (const [p, profile] of profiles.entries()) {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    for (let i = 0; i < profile.samples.length; i++) {
      const { callFrame } = nodes.get(profile.samples[i]);
      const key = `${p}:${profile.samples[i]}`;
      const prev = dt.get(key) ?? [callFrame, 0];
      dt.set(key, [callFrame, prev[1] + (profile.timeDeltas[i] ?? 0) / 1000 / profiles.length]);
    }
  }
  for (const [, [f, ms]] of dt) {
    const url =
      f.url.replace(/^file:\/\/.*?\/(node_modules|dist|bin)\//, '$1/').replace(/^\/.*?\/(dist|bin)\//, '$1/') ||
      '(native)';
    const key = `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + ms);
    byUrl.set(url, (byUrl.get(url) ?? 0) + ms);
  }
  const top = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `    ${ms.toFixed(1).padStart(6)} ms  ${k}`)
      .join('\n');
  const total = [...dt.values()].reduce((a, [, ms]) => a + ms, 0);
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, ms]) => a + ms, 0);
  return `  profile${profiles.length > 1 ? ` (mean of ${profiles.length})` : ''}: ${total.toFixed(0)} ms sampled (${idle.toFixed(0)} ms idle)\n  by script:\n${top(byUrl)}\n  by function:\n${top(self)}`;
}

// `node bench/cpu-profile-summary.mjs [--top N] FILE.cpuprofile...`
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const top = args[0] === '--top' ? Number(args.splice(0, 2)[1]) : 15;
  console.log(
    summarize(
      args.map((f) => JSON.parse(readFileSync(f, 'utf8'))),
      top,
    ),
  );
}
