// The TAB fast path (src/completion/fast.ts, called by bin/keystone.cjs for `keystone __complete`)
// answers without building the commander program: it must give exactly what main() gives, at
// every completion position, live names included — both from the sources and as the build makes
// it, its own bundle without the modules a common TAB never needs (dist/complete.cjs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { execa } from 'execa';
import { createHarness, CapturedStream, cliPath, repoRoot, type Harness } from '../helpers/harness.js';
import { completeFast, completionWords } from '../../src/completion/fast.js';
import { treeOf, type CompletionNode } from '../../src/completion/tree.js';
import { buildProgram } from '../../src/cli.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
// What the launcher walks: the tree the build rendered (vitest's global setup builds dist/).
const tree = JSON.parse(readFileSync(join(repoRoot, 'dist', 'completion-tree.json'), 'utf8')) as CompletionNode;

let h: Harness;
let otherKubeconfig = '';
beforeAll(async () => {
  h = await createHarness();
  expect((await h.run(['setup'])).exitCode).toBe(0);
  h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
  expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
  otherKubeconfig = join(h.home, 'other-config');
  await writeFile(
    otherKubeconfig,
    'apiVersion: v1\nkind: Config\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\n',
    { mode: 0o600 },
  );
}, 60_000);
afterAll(async () => h?.cleanup());

/**
 * The TAB bundle as the launcher loads it, fresh: once a TAB needed a module the bundle left
 * out, that copy answers no more TABs (src/completion/full-cli.ts).
 */
function tabBundle(): { completeFast: typeof completeFast } {
  const require = createRequire(import.meta.url);
  const file = join(repoRoot, 'dist', 'complete.cjs');
  delete require.cache[file];
  return require(file) as { completeFast: typeof completeFast };
}

async function fast(argv: string[], env: Record<string, string> = {}, complete = completeFast) {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const exitCode = await complete(argv, tree, {
    version,
    streams: { stdout, stderr },
    env: { ...h.env, ...env },
    cwd: h.project,
  });
  return { exitCode, stdout: stdout.text.replace(/\n$/, ''), stderr: stderr.text };
}

// Every position complete() distinguishes: commands, options, option values (choices, contexts,
// tools, files, none), tool names, inputs, live deployments, pods and run ids, subcommands, words
// after --, unknown commands and contexts, and extra arguments.
const positions: string[][] = [
  [],
  [''],
  ['st'],
  ['-'],
  ['--ver'],
  ['--context', ''],
  ['--context', 'k3d-keystone-cluster', 'st'],
  ['--context', 'k3d-keystone-cluster', 'scale', ''],
  ['--context', 'nowhere', 'scale', ''],
  ['--kubeconfig', ''],
  ['--config', ''],
  ['--timeout', ''],
  ['--timeout', '5m', 'scale', ''],
  ['scale', ''],
  ['scale', 'c'],
  ['scale', 'celery-worker', ''],
  ['scale', '--'],
  ['restart', ''],
  ['restart', 'a'],
  ['logs', ''],
  ['logs', 'redis-'],
  ['logs', '--ti'],
  ['logs', '--context', 'l'],
  ['shell', ''],
  ['shell', 'redis', '--', ''],
  ['jobs', ''],
  ['jobs', 'l'],
  ['jobs', 'logs', ''],
  ['jobs', 'cancel', ''],
  ['jobs', 'fetch', ''],
  ['jobs', 'logs', 'x', ''],
  ['jobs', '--tool', ''],
  ['jobs', '--all', 'clean', '--'],
  ['run-simulation', ''],
  ['run-simulation', 'openfoam', ''],
  ['run-simulation', 'lammps', 'in.lj', ''],
  ['run-simulation', 'lammps', '--', ''],
  ['completion', ''],
  ['completion', 'bash', ''],
  ['import-images', ''],
  ['status', '-o', ''],
  ['pods', '--output', 'w'],
  ['pods', '-o=', ''],
  ['describe', ''],
  ['bogus', ''],
  ['__complete', ''],
  ['help', ''],
];

describe('the TAB fast path', () => {
  it('walks the same command tree as the CLI it was built from', () => {
    expect(tree).toEqual(treeOf(buildProgram(version, async () => {})));
  });

  it('gives exactly the candidates, directive and exit code main() gives, at every position, from the sources and as built', async () => {
    // The one position whose module the TAB bundle leaves out (the compose file's reader): the
    // bundle leaves it to main(), having printed nothing.
    const leftToMain = [JSON.stringify(['import-images', ''])];
    for (const env of [{}, { KUBECONFIG: `${h.kubeconfig}:${otherKubeconfig}` }] as Record<string, string>[]) {
      for (const words of positions) {
        const argv = ['__complete', '--', ...words];
        const full = await h.run(argv, { env });
        const expected = { exitCode: full.exitCode, stdout: full.stdout, stderr: full.stderr };
        const fromSources = await fast(argv, env);
        expect({ ...fromSources, stderr: fromSources.stderr.trimEnd() }, `sources: ${JSON.stringify(words)}`).toEqual(
          expected,
        );
        const built = await fast(argv, env, tabBundle().completeFast);
        const leaves = leftToMain.includes(JSON.stringify(words));
        expect({ ...built, stderr: built.stderr.trimEnd() }, `dist/complete.cjs: ${JSON.stringify(words)}`).toEqual(
          leaves ? { exitCode: undefined, stdout: '', stderr: '' } : expected,
        );
      }
    }
    // The live positions did find names (so the comparison above was not of two empty lists).
    expect((await fast(['__complete', '--', 'scale', ''])).stdout.split('\n')).toEqual([
      'celery-worker',
      'redis',
      ':plain',
    ]);
    expect((await fast(['__complete', '--', 'jobs', 'logs', ''])).stdout).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}\n:plain$/);
  });

  it('takes `__complete` without `--` only when commander would read no word as an option', async () => {
    expect(completionWords(['__complete', 'scale', ''])).toEqual(['scale', '']);
    expect(completionWords(['__complete', '--', '--context', ''])).toEqual(['--context', '']);
    expect(completionWords(['__complete', 'scale', '-'])).toEqual(['scale', '-']);
    expect(completionWords(['__complete', '--context', 'x', 'scale', ''])).toBeUndefined();
    expect(completionWords(['--quiet', '__complete', 'scale'])).toBeUndefined();
    expect(
      await completeFast(['__complete', '--verbose', 'scale', ''], tree, { version, env: h.env, cwd: h.project }),
    ).toBeUndefined();
    const plain = await fast(['__complete', 'scale', '']);
    expect(plain).toEqual({ ...(await fast(['__complete', '--', 'scale', ''])) });
  });

  it('leaves a failure to main(), having printed nothing, and the launcher then prints what main() prints', async () => {
    await writeFile(join(h.project, 'images', 'compose.yaml'), 'services: [unclosed\n');
    const quick = await fast(['__complete', '--', 'import-images', '']);
    expect(quick).toEqual({ exitCode: undefined, stdout: '', stderr: '' });
    const full = await h.run(['__complete', '--', 'import-images', '']);
    expect(full.exitCode).not.toBe(0);
    const launched = await execa(process.execPath, [cliPath, '__complete', '--', 'import-images', ''], {
      env: h.env,
      extendEnv: false,
      cwd: h.project,
      reject: false,
    });
    expect({ exitCode: launched.exitCode, stdout: launched.stdout, stderr: launched.stderr }).toEqual(full);
  });

  it('leaves to main() a TAB that needs a module the TAB bundle left out, or has a warning to print', async () => {
    const config = join(h.project, 'k8s', 'configs', 'k3d-cluster-config.yaml');
    const plain = await readFile(config, 'utf8');
    const words = ['__complete', '--', 'scale', ''];
    try {
      // A flow mapping is beyond the plain YAML reader: the yaml library reads the cluster's name.
      await writeFile(config, plain.replace(/^metadata:\n {2}name: (\S+)$/m, 'metadata: {name: $1}'));
      expect(await readFile(config, 'utf8')).toContain('metadata: {name: ');
      expect(await fast(words, {}, tabBundle().completeFast)).toEqual({ exitCode: undefined, stdout: '', stderr: '' });
      const full = await h.run(words);
      expect(full.stdout).toBe('celery-worker\nredis\n:plain');
      const launched = await execa(process.execPath, [cliPath, ...words], {
        env: h.env,
        extendEnv: false,
        cwd: h.project,
      });
      expect({ stdout: launched.stdout, stderr: launched.stderr }).toEqual({
        stdout: full.stdout,
        stderr: full.stderr,
      });
      // Nothing is left out of the sources, so they answer it themselves.
      expect((await fast(words)).stdout).toBe(full.stdout);
    } finally {
      await writeFile(config, plain);
    }
    try {
      // A kubeconfig others can read: main() warns on stderr, and so the launcher does.
      await chmod(h.kubeconfig, 0o644);
      const requests = h.api.requests.length;
      expect(await fast(words, {}, tabBundle().completeFast)).toEqual({ exitCode: undefined, stdout: '', stderr: '' });
      // It stopped before asking the API: main() asks, and a TAB does not wait for the API twice.
      expect(h.api.requests.length).toBe(requests);
      const launched = await execa(process.execPath, [cliPath, ...words], {
        env: h.env,
        extendEnv: false,
        cwd: h.project,
      });
      expect(launched.stderr).toContain(`kubeconfig ${h.kubeconfig} is readable by other users`);
      expect({ stdout: launched.stdout, stderr: launched.stderr }).toEqual(
        await h.run(words).then((r) => ({ stdout: r.stdout, stderr: r.stderr })),
      );
    } finally {
      await chmod(h.kubeconfig, 0o600);
    }
  });

  it('is what the launcher runs: the same output as main() for live names, in a real process, loading nothing else of keystone', async () => {
    const record = join(h.home, 'loaded.json');
    for (const words of [
      ['scale', ''],
      ['logs', 'redis'],
      ['jobs', 'fetch', ''],
    ]) {
      const launched = await execa(
        process.execPath,
        ['--require', join(repoRoot, 'test', 'helpers', 'record-loaded.cjs'), cliPath, '__complete', '--', ...words],
        {
          // Without the sandbox's fake-machine preload: a TAB reads no disk, and this counts what it loads.
          env: { ...h.env, NODE_OPTIONS: '', KEYSTONE_TEST_RECORD_LOADED: record },
          extendEnv: false,
          cwd: h.project,
        },
      );
      expect(launched.stdout).toBe((await h.run(['__complete', '--', ...words])).stdout);
      // What a TAB costs beyond Node's own start-up (docs/performance.md): the launcher and the one
      // TAB bundle, not the CLI's chunks, and none of the built-ins only other commands need.
      const loaded = JSON.parse(await readFile(record, 'utf8')) as { files: string[]; builtins: string[] };
      expect(
        loaded.files
          .filter((f) => f.startsWith(repoRoot) && !f.endsWith('record-loaded.cjs'))
          .map((f) => f.slice(repoRoot.length + 1))
          .sort(),
      ).toEqual(['bin/compile-cache.cjs', 'bin/keystone.cjs', 'dist/complete.cjs', 'package.json']);
      expect(
        loaded.builtins.filter((b) => ['fs/promises', 'tty', 'readline', 'child_process', 'zlib'].includes(b)),
      ).toEqual([]);
    }
  });
});
