#!/usr/bin/env node
// Launcher only, in CommonJS: Node starts a CommonJS entry faster than an ES module one (measured
// here: `--version` 1.02× `node -e 0` against 1.12× for the same launcher as ESM). `--version` is
// answered here, before the CLI bundle (CommonJS chunks in dist/) is loaded: scripts and package
// managers call it most; `--help` too, from texts the build rendered (bin/prerendered-help.cjs).
'use strict';
const args = process.argv.slice(2);
const only = (...flags) => args.length === 1 && flags.includes(args[0]);
const answer = only('--version', '-V')
  ? `${require('../package.json').version}\n`
  : only('--help', '-h')
    ? require('./prerendered-help.cjs').prerenderedHelp(process.stdout)
    : undefined;
if (answer !== undefined) {
  // A reader that has gone (`keystone --help | true`) ends it as src/main.ts does: 141, no trace.
  process.stdout.on('error', (err) => (process.exitCode = err.code === 'EPIPE' ? 141 : 1));
  process.stdout.write(answer);
} else {
  const verbose = args.includes('--verbose') || args.includes('-v');
  // Source maps make --verbose stack traces point at the TypeScript, but building their caches
  // costs ~20 ms at every start, so they are turned on only when asked for; Node applies them to
  // modules it compiles itself, so --verbose runs without the code cache.
  if (verbose) process.setSourceMapsEnabled?.(true);
  const cache = verbose
    ? undefined
    : require('./compile-cache.cjs').installCompileCache(require('node:path').join(__dirname, '..', 'dist'));
  // A TAB (`keystone __complete …`) is answered without building the CLI (src/completion/fast.ts),
  // from the command tree the build rendered; anything it does not answer goes to main().
  const completed = args[0] === '__complete' ? completeFast() : Promise.resolve(undefined);
  completed
    .then((code) => code ?? require('../dist/main.cjs').main(args))
    .then((code) => {
      process.exitCode = code;
      cache?.save();
      // keystone closes what it opens, so the process could end by itself; but exiting now skips
      // Node's teardown of a natural exit (~10-20 ms here, docs/performance.md), which every
      // command, and every wait's "done → exit", would otherwise pay. Never before stdout and
      // stderr have drained: an early exit would cut output piped to a slow reader.
      // process.exitCode, not code: a stdout closed while it flushed turns a 0 into 141 (src/main.ts).
      const leave = () => process.exit(process.exitCode ?? code);
      const flushing = [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0);
      if (flushing.length === 0) leave();
      else require('./when-written.cjs').whenWritten(flushing).then(leave);
    });
}

function completeFast() {
  const { join } = require('node:path');
  let tree;
  try {
    tree = JSON.parse(require('node:fs').readFileSync(join(__dirname, '..', 'dist', 'completion-tree.json'), 'utf8'));
  } catch {
    return Promise.resolve(undefined); // an older build without the tree: main() completes
  }
  return require('../dist/complete.cjs').completeFast(args, tree, { version: require('../package.json').version });
}
