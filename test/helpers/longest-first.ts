// The order test files start in. The suite's wall time is at least its longest file's, and
// vitest starts the files it has no timings for by their size in bytes, largest first: on a fresh
// clone (no node_modules/.vite cache) a short file of a few sweeps that runs for a minute starts
// last and finishes alone. So each file is weighed by how long it took when test/durations.json
// was last written (`node scripts/test-durations.mjs <vitest --reporter=json output>`), or by
// vitest's own cache when it has one, and the heaviest start first. Order only: a stale or
// missing entry costs time, never a result (a file it does not know starts first).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const recorded: Record<string, number> = JSON.parse(
  readFileSync(new URL('../durations.json', import.meta.url), 'utf8'),
);

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const weight = (spec: TestSpecification): number => {
      const path = relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`);
      return cached?.duration ?? (recorded[path] === undefined ? Infinity : recorded[path] * 1000);
    };
    return [...files].sort((a, b) => weight(b) - weight(a));
  }
}
