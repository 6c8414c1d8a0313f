import { defineConfig } from 'vitest/config';
import LongestFirst from './test/helpers/longest-first.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The spawned end-to-end tests need dist/; build it first (a fresh clone has none).
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each worker's environment is rebuilt from an allow-list, not inherited (see the file).
    setupFiles: ['test/helpers/host-env.ts'],
    // Most tests wait on the fake API server and its controllers, not the CPU: four files at a time
    // on a 2-core machine (vitest's default is cores - 1 = 1) keep both cores busy: 68-70 s here
    // against 80 s with three, ~160 s with one; six were slower again (the CPU is then the limit).
    maxWorkers: 4,
    // A larger young generation: the fake API server and the CLI allocate many short-lived objects
    // (requests, JSON), and 32 MB semi-spaces halve the scavenges: about 5% less CPU for the suite.
    execArgv: ['--max-semi-space-size=32'],
    // One module graph per worker, not per file: the suite imports the CLI, the fakes and their
    // libraries once per worker instead of once per file (88 s instead of 115-124 s here, and a
    // third less CPU). Tests keep their state in their own harness (a sandbox, a fake API server),
    // never in module-level variables they change.
    isolate: false,
    // The heaviest files start first, also on a fresh clone (see the file).
    sequence: { sequencer: LongestFirst },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
