// `npm run test:containers`: the project's images built and run under a real Docker daemon, and
// keystone's Docker calls against it (not part of `npm test`, which needs no Docker). The daemon,
// the base image and the builds are made once, before the files (test/containers/global-setup.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/containers/**/*.containers.ts'],
    globalSetup: ['test/containers/global-setup.ts'],
    testTimeout: 300_000,
    // Building the images (about a minute each when nothing is cached) happens in the global setup.
    hookTimeout: 120_000,
    // One file at a time: the machine has few cores, and one file stops and restarts the daemon.
    fileParallelism: false,
    // Every test by name, so a skipped image or part says why.
    reporters: ['verbose'],
  },
});
