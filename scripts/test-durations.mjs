// Writes test/durations.json, the per-file durations test/helpers/longest-first.ts orders the
// suite's files by, from a vitest JSON report:
//   npx vitest run --reporter=json --outputFile=/tmp/report.json && node scripts/test-durations.mjs /tmp/report.json
// Seconds, to one decimal; only their order matters (a loaded machine's report does as well).
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const durations = Object.fromEntries(
  report.testResults
    .map((file) => [relative(root, file.name), Math.round((file.endTime - file.startTime) / 100) / 10])
    .sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(new URL('../test/durations.json', import.meta.url), `${JSON.stringify(durations, null, 2)}\n`);
