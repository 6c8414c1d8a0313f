#!/usr/bin/env node
// Launcher only, in CommonJS: Node starts a CommonJS entry faster than an ES module one (measured
// here: `--version` 1.02× `node -e 0` against 1.12× for the same launcher as ESM). `--version` is
// answered here, before the CLI bundle (ESM, in dist/) is loaded: scripts and package managers
// call it most.
'use strict';
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  // Source maps make --verbose stack traces point at the TypeScript, but building their caches
  // costs ~20 ms at every start, so they are turned on only when asked for.
  if (args.includes('--verbose') || args.includes('-v')) process.setSourceMapsEnabled?.(true);
  import('../dist/main.js').then(async ({ main }) => {
    const code = await main(args);
    process.exitCode = code;
    // keystone closes what it opens, so the process ends by itself once stdout is flushed. A
    // safety net for a handle left open by a library: exit anyway, but never before stdout has
    // drained (an early exit would cut output piped to a slow reader).
    setTimeout(() => {
      // process.exitCode, not code: a stdout closed while it flushed turns a 0 into 141 (src/main.ts).
      if (process.stdout.writableLength > 0) process.stdout.once('drain', () => process.exit(process.exitCode ?? code));
      else process.exit(process.exitCode ?? code);
    }, 1000).unref();
  });
}
