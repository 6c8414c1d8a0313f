#!/usr/bin/env node
// Launcher only: source maps for readable --verbose traces, then the built CLI.
process.setSourceMapsEnabled?.(true);
const { main } = await import('../dist/main.js');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A lingering handle (a socket the server keeps open) must not keep a finished command alive.
setTimeout(() => process.exit(code), 100).unref();
