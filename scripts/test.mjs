// `npm test`: the type check and the test suite side by side. The type check is TypeScript 7's
// native compiler (about 4 s of CPU for the tree here, against 16 s for TypeScript 5.9's tsc, which
// took an eighth of the suite's CPU), so on a 2-core machine the two together take about as long
// as the suite alone. tsc's report is printed after the suite's (not interleaved); the
// exit code is the first failure's, so either failing fails `npm test`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The packages' own entry scripts (vitest's is not in its "exports", so it is named by path).
const modules = fileURLToPath(new URL('../node_modules/', import.meta.url));
const run = (script, args, stdio) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [modules + script, ...args], { stdio });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });

const typecheck = run('typescript/bin/tsc', ['-p', 'tsconfig.json', '--noEmit'], ['ignore', 'pipe', 'pipe']);
// The formatter and linter (Biome, one native binary: about a second for the whole tree), so a
// change that is not formatted or breaks a lint rule fails `npm test` here and in CI alike.
const lint = run('@biomejs/biome/bin/biome', ['ci', '.'], ['ignore', 'pipe', 'pipe']);
const suite = await run('vitest/vitest.mjs', ['run', ...process.argv.slice(2)], 'inherit');
const types = await typecheck;
const style = await lint;
process.stdout.write(types.code === 0 ? 'typecheck: no errors\n' : `typecheck failed:\n${types.output}`);
process.stdout.write(
  style.code === 0
    ? 'lint: formatted, no findings\n'
    : `lint failed (npm run format fixes formatting):\n${style.output}`,
);
process.exitCode = suite.code || types.code || style.code;
