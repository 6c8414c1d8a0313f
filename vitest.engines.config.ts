// `npm run test:engines`: the profiles' real command lines run by the real engines installed on this
// machine (not part of `npm test`, which needs no engines). See test/engines/engines.engine.ts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/engines/**/*.engine.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    // One engine at a time: the machine has few cores and each run uses one.
    fileParallelism: false,
    // Every test by name, so a skipped engine shows its install command.
    reporters: ['verbose'],
  },
});
