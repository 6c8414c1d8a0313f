#!/usr/bin/env node
// Launcher only. Source maps make --verbose stack traces point at the TypeScript, but building
// their caches costs ~20 ms at every start, so they are turned on only when asked for.
if (process.argv.includes('--verbose') || process.argv.includes('-v')) process.setSourceMapsEnabled?.(true);
const { main } = await import('../dist/main.js');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// keystone closes what it opens, so the process ends by itself once stdout is flushed. A safety
// net for a handle left open by a library: exit anyway, but never before stdout has drained
// (an early exit would cut output piped to a slow reader).
setTimeout(() => {
  // process.exitCode, not code: a stdout closed while it flushed turns a 0 into 141 (src/main.ts).
  if (process.stdout.writableLength > 0) process.stdout.once('drain', () => process.exit(process.exitCode ?? code));
  else process.exit(process.exitCode ?? code);
}, 1000).unref();
