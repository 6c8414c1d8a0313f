// Issue 11: the edges of run-simulation and jobs — options a command shows but ignored, exit
// codes through closed pipes, durations over their whole range, symlinks and odd names in inputs,
// filesystem errors, unknown options and subcommands. Each test failed on the code before the fix.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { execa } from 'execa';
import {
  cliPath,
  clockAhead,
  createReadyHarness,
  repoRoot,
  until,
  runJobsOf,
  type Harness,
  type RunJob as Job,
} from '../helpers/harness.js';
import { kubeconfigFor } from '../fakes/kube-api-server.mjs';
import { jobsSchema } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const runJobs = () => runJobsOf(h);
const toolOf = (j: Job) => j.metadata.labels['keystone.io/simulation'];
const runDirs = async (tool: string) =>
  existsSync(join(h.project, 'data', tool, 'runs')) ? readdir(join(h.project, 'data', tool, 'runs')) : [];
const faults = (spec: string) => ({
  env: { NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'fakes', 'fs-faults.cjs')}`, KEYSTONE_FS_FAULTS: spec },
});

describe('jobs clean: options it shows work or are refused; it names what it deletes (issue 11 #1)', () => {
  it('--tool limits what is deleted; --dry-run lists the same runs and deletes nothing', async () => {
    h.cluster.program = () => ({ lines: ['ok'], exitCode: 0 });
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    expect((await h.run(['run-simulation', 'fenicsx', 'poisson.py'])).exitCode).toBe(0);
    const lammpsId = runJobs().find((j) => toolOf(j) === 'lammps')!.metadata.labels['keystone.io/run-id'];

    const dry = await h.run(['jobs', 'clean', '--tool', 'lammps', '--purge-outputs', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('Would delete 1 finished run:');
    expect(dry.stderr).toContain(`  ${lammpsId} (lammps, succeeded) and its outputs data/lammps/runs/${lammpsId}`);
    expect(dry.stderr).not.toContain('fenicsx');
    expect(runJobs()).toHaveLength(2);
    expect(await runDirs('lammps')).toEqual([lammpsId]);

    const r = await h.run(['jobs', 'clean', '--tool', 'lammps', '--purge-outputs']);
    expect(r.exitCode, r.stderr).toBe(0);
    // The list comes first, the deletions after it, and it is the list --dry-run printed.
    expect(r.stderr.indexOf(`  ${lammpsId} (lammps, succeeded) and its outputs`)).toBeGreaterThanOrEqual(0);
    expect(r.stderr.indexOf('Deleting 1 finished run:')).toBeLessThan(r.stderr.indexOf(`deleted run ${lammpsId}`));
    expect(runJobs().map(toolOf)).toEqual(['fenicsx']);
    expect(await runDirs('lammps')).toEqual([]);
    expect(await runDirs('fenicsx')).toHaveLength(1);
  });

  it('inherited options a subcommand has no use for are refused (exit 2), not ignored', async () => {
    const id = '20200101-000000-abcd';
    for (const args of [
      ['jobs', 'clean', '--all'],
      ['jobs', 'clean', '-o', 'json'],
      ['jobs', 'logs', id, '-o', 'json'],
      ['jobs', 'logs', id, '--tool', 'lammps'],
      ['jobs', 'cancel', id, '--all'],
      ['completion', 'bash', '--context', 'lab'],
    ]) {
      const r = await h.run(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/error: --\S+ does not apply to `keystone (jobs \w+|completion)`: /);
    }
    const both = await h.run(['run-simulation', 'lammps', 'in.lj', '-d', '--cancel-on-interrupt']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('error: --cancel-on-interrupt does nothing with --detach');
    expect(runJobs()).toEqual([]);
  });
});

describe('exit codes scripts can trust (issue 11 #2, #3)', () => {
  it('a closed stdout detaches from the run, says so, and exits 141 (set -o pipefail)', async () => {
    h.cluster.program = () => ({ lines: ['first', 'second', 'third', 'fourth'], lineDelayMs: 300, exitCode: null });
    // The sandbox's PATH holds only the fakes and node; head comes from the system tools (after them).
    const r = await execa(
      '/bin/bash',
      ['-c', 'set -o pipefail; "$0" "$1" run-simulation lammps in.lj | head -1', process.execPath, cliPath],
      {
        env: { ...h.env, PATH: `${h.env.PATH}:${h.systemBin}` },
        extendEnv: false,
        cwd: h.project,
        reject: false,
        timeout: 30_000,
      },
    );
    expect(String(r.stdout)).toBe('first');
    expect(r.exitCode).toBe(141); // as for SIGPIPE; 0 before
    expect(String(r.stderr)).toMatch(
      /stdout was closed \(the reading end of the pipe went away\): Detached; run \S+ keeps going/,
    );
    expect(runJobs()).toHaveLength(1); // detached, not cancelled
  });

  it('a command whose output the closed pipe lost exits 141, quietly, never 0', async () => {
    const pod = h.api
      .objects('pods')
      .find((p: { metadata: { labels: Record<string, string> } }) => p.metadata.labels.app === 'redis');
    // 3.5 MB, far beyond a pipe's buffer: keystone is still writing when head has gone.
    for (let i = 0; i < 50_000; i++)
      h.api.appendLog('keystone', pod.metadata.name, 'redis', `line ${i} ${'x'.repeat(60)}`);
    const r = await execa(
      '/bin/bash',
      ['-c', '"$0" "$1" logs redis | head -1; echo "status ${PIPESTATUS[0]}"', process.execPath, cliPath],
      {
        env: { ...h.env, PATH: `${h.env.PATH}:${h.systemBin}` },
        extendEnv: false,
        cwd: h.project,
        reject: false,
        timeout: 30_000,
      },
    );
    expect(String(r.stdout).split('\n')[1]).toBe('status 141');
    expect(String(r.stderr)).toBe('');
  });

  it("jobs logs -f exits with the run's code whether it attaches before or after the run ended", async () => {
    h.cluster.program = () => ({ lines: ['boom'], exitCode: 5 });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--detach']);
    const runId = r.stdout.trim();
    await until(
      () => runJobs()[0]?.status?.conditions?.some((c: { type: string }) => c.type === 'Failed'),
      'the run to fail',
    );
    const after = await h.run(['jobs', 'logs', runId, '-f']);
    expect(after.exitCode, after.stderr).toBe(5);
    expect(after.stdout).toContain('boom');
    expect(after.stderr).toContain(`run ${runId} failed with exit code 5`);
    const plain = await h.run(['jobs', 'logs', runId]);
    expect(plain.exitCode).toBe(0); // without -f it prints the log; the log was printed fine
  });
});

describe('durations and numbers over their whole range (issue 11 #5)', () => {
  it('zero, negative, too long or malformed: exit 2 before anything is made; fractions honoured', async () => {
    const before = h.api.requests.length;
    for (const [args, message] of [
      [['run-simulation', 'lammps', 'in.lj', '--timeout', '0'], '--timeout must be longer than zero'],
      [['run-simulation', 'lammps', 'in.lj', '--timeout', '0s'], '--timeout must be longer than zero'],
      [['run-simulation', 'lammps', 'in.lj', '--timeout', '-5'], '--timeout "-5" is not a duration'],
      [['run-simulation', 'lammps', 'in.lj', '--timeout', '25d'], '--timeout 25d is too long: at most 24d'],
      [['run-simulation', 'lammps', 'in.lj', '--timeout', '9'.repeat(400)], 'is too long'],
      [['status', '--timeout', '0'], '--timeout must be longer than zero'],
      [['jobs', 'clean', '--older-than', '99999999999d'], '--older-than 99999999999d is too long'],
      [['run-simulation', 'lammps', 'in.lj', '--cpus', '0'], '--cpus 0 is out of range'],
      [['run-simulation', 'lammps', 'in.lj', '--cpus', '1'.repeat(400)], 'is out of range'],
      [['run-simulation', 'lammps', 'in.lj', '--memory', `${'9'.repeat(30)}Gi`], 'is out of range'],
      [['run-simulation', 'lammps', 'in.lj', '--retries', '1.5'], 'must be a whole number'],
      [['run-simulation', 'lammps', 'in.lj', '--sweep', 'N=1,2', '--parallel', '0'], 'must be a whole number from 1'],
    ] as [string[], string][]) {
      const r = await h.run(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('error:')),
      ).toHaveLength(1);
    }
    expect(h.api.requests.filter((q: { method: string }) => q.method === 'POST').length).toBe(
      h.api.requests.slice(0, before).filter((q: { method: string }) => q.method === 'POST').length,
    );
    expect(await runDirs('lammps')).toEqual([]);

    // Detached: whether the run beats its 1 s deadline on a loaded machine is not the point here.
    const half = await h.run(['run-simulation', 'lammps', 'in.lj', '--timeout', '0.5', '--detach']);
    expect(half.exitCode, half.stderr).toBe(0);
    expect(runJobs()[0]!.spec.activeDeadlineSeconds).toBe(1);
    await until(
      () =>
        runJobs()[0]?.status?.conditions?.some(
          (c: { type: string; status: string }) =>
            (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        ),
      'the run to end',
    );
    const zero = await h.run(['jobs', 'clean', '--older-than', '0', '--dry-run']);
    expect(zero.exitCode, zero.stderr).toBe(0);
    expect(zero.stderr).toContain('Would delete 1 finished run:');
  });
});

describe('inputs: symlinks, slashes and dashes (issue 11 #6, #7)', () => {
  it('a case directory with a dangling link, a link out of data/, or a link back up the tree is refused by name', async () => {
    const cavity = join(h.project, 'data', 'openfoam', 'cavity');
    const cases: [string, string, RegExp][] = [
      ['dangling', 'nowhere', /contains a broken symlink: cavity\/dangling -> nowhere/],
      ['outside', '/etc', /contains a symlink leaving data\/: cavity\/outside -> \/etc/],
      ['loop', '..', /contains a symlink back up its own tree \(a loop\): cavity\/loop -> \.\./],
      ['self', 'self', /contains a symlink loop: cavity\/self -> self/],
    ];
    for (const [name, target, message] of cases) {
      await symlink(target, join(cavity, name));
      const started = Date.now();
      const r = await h.run(['run-simulation', 'openfoam', 'cavity']);
      expect(r.exitCode, name).toBe(2);
      expect(r.stderr, name).toMatch(message);
      expect(r.stderr).not.toContain('unexpected error');
      expect(Date.now() - started).toBeLessThan(20_000);
      await execa('rm', [join(cavity, name)]);
    }
    expect(runJobs()).toEqual([]);
    expect(await runDirs('openfoam')).toEqual([]);
  });

  it('a link farm (each level linking twice to the next) is bounded, not walked for ever', async () => {
    const farm = join(h.project, 'data', 'openfoam', 'farm');
    for (let i = 0; i < 20; i++) {
      await mkdir(join(farm, `l${i}`), { recursive: true });
      await writeFile(join(farm, `l${i}`, 'f'), 'x');
      if (i > 0) for (const n of ['a', 'b']) await symlink(`../l${i}`, join(farm, `l${i - 1}`, n));
    }
    const r = await h.run(['run-simulation', 'openfoam', 'data/openfoam/farm/l0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/has more than 10000 files and directories/);
  });

  it('trailing slashes and sub/paths are found in data/<tool>/', async () => {
    await mkdir(join(h.project, 'data', 'fenicsx', 'sub'));
    await writeFile(join(h.project, 'data', 'fenicsx', 'sub', 'p2.py'), 'print(2)\n');
    let r = await h.run(['run-simulation', 'openfoam', 'cavity/']);
    expect(r.exitCode, r.stderr).toBe(0);
    r = await h.run(['run-simulation', 'fenicsx', 'sub/p2.py']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('running: python3 p2.py');
    r = await h.run(['run-simulation', 'fenicsx', './nope/p2.py']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('input "./nope/p2.py" not found (looked in nope/p2.py)');
  });

  it('an input named -x.py reaches the program as ./-x.py, never as an option', async () => {
    await writeFile(join(h.project, 'data', 'fenicsx', '-x.py'), 'print(1)\n');
    for (const args of [['data/fenicsx/-x.py'], ['--', '-x.py']]) {
      const r = await h.run(['run-simulation', 'fenicsx', ...args]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('running: python3 ./-x.py');
    }
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    expect(existsSync(join(h.project, 'data', 'fenicsx', 'runs', runId, '-x.py'))).toBe(true);
  });
});

describe('filesystem errors are named, and nothing half-done is left (issue 11 #8)', () => {
  it('a read-only data/ in run-simulation: one line with the reason and a hint, no run, no directory', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj'], faults('mkdir:EROFS:/data/lammps/runs'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /error: could not stage the input in data\/lammps\/runs\/\S+: read-only file system \(data\/lammps\)/,
    );
    expect(r.stderr).toContain('hint: data/lammps is on a read-only file system');
    expect(r.stderr).not.toContain('unexpected error');
    expect(runJobs()).toEqual([]);
  });

  it('staging a directory into itself is refused before anything is copied', async () => {
    const r = await h.run(['run-simulation', 'openfoam', 'data/openfoam']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('contains data/openfoam/runs/, where the run would be staged');
    expect(await runDirs('openfoam')).toEqual([]);
    expect(runJobs()).toEqual([]);
  });

  it('jobs clean --purge-outputs on a read-only disk keeps the Job, says what was and was not done, exits 1', async () => {
    h.cluster.program = () => ({ lines: ['ok'], exitCode: 0 });
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const r = await h.run(['jobs', 'clean', '--purge-outputs'], faults('rm:EROFS:/data/lammps/runs/'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `warning: kept run ${runId} (its Job and outputs): could not remove data/lammps/runs/${runId}: read-only file system`,
    );
    expect(r.stderr).toContain(`error: 1 run not cleaned (outputs could not be removed): ${runId}`);
    expect(r.stderr).not.toContain('unexpected error');
    expect(runJobs()).toHaveLength(1); // still listed, can be cleaned again
    expect(await runDirs('lammps')).toEqual([runId]);
  });
});

describe('unknown options and subcommands (issue 11 #9)', () => {
  it("the program's own options before -- get a hint to put them after --", async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '-var', 'T', '2.0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'hint: options for the simulation program go after --, e.g. keystone run-simulation lammps in.lj -- -var T 2.0',
    );
    expect(runJobs()).toEqual([]);
    const shell = await h.run(['--context', 'k3d-keystone-cluster', 'shell', 'redis', 'redis-cli', '--raw']);
    expect(shell.exitCode).toBe(2);
    expect(shell.stderr).toContain(
      'hint: options for the command run in the pod go after --, e.g. keystone shell redis -- redis-cli -h localhost',
    );
    const other = await h.run(['logs', 'shell', '--raw']); // "shell" here is a name, not the command
    expect(other.exitCode).toBe(2);
    expect(other.stderr).not.toContain('go after --');
  });

  it('jobs bogus is an unknown command with a suggestion (exit 2)', async () => {
    let r = await h.run(['jobs', 'bogus']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'jobs bogus'");
    expect(r.stderr).not.toContain('too many arguments');
    r = await h.run(['jobs', 'clen']);
    expect(r.stderr).toContain('(Did you mean clean?)');
  });
});

describe('hints and output paths (issue 11 #14, #15)', () => {
  it('an image keystone does not build is not sent to import-images', async () => {
    // Given by digest (so keystone does not refuse it before submitting): no registry has it.
    const image = `keystone/lammps:9.9@sha256:${'0'.repeat(64)}`;
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--image', image]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `hint: ${image} is not an image keystone builds (images/compose.yaml has keystone/lammps:0.1.0): use one of those`,
    );
  });

  it('runs on another cluster: outputDir is the path the pod sees, the volume is its own field', async () => {
    const file = join(h.home, 'lab.yaml');
    await writeFile(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
    h.cluster.program = () => ({ lines: ['ok'], exitCode: 0 });
    expect(
      (await h.run(['run-simulation', 'lammps', 'in.lj', '--context', 'lab', '--kubeconfig', file])).exitCode,
    ).toBe(0);
    // Run ids are stamped to the second by the clock keystone is given: this run a second later.
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'], { clock: clockAhead(1000) })).exitCode).toBe(0);
    const r = await h.run(['jobs', '-o', 'json']);
    const runs = jobsSchema.parse(JSON.parse(r.stdout));
    const [local, remote] = runs;
    expect(local).toMatchObject({
      outputDir: join(h.project, 'data', 'lammps', 'runs', local!.runId),
      outputLocal: true,
      outputNodes: [],
    });
    // The fake's default class is local-path (ReadWriteOnce only): the run has its own claim.
    expect(remote).toMatchObject({
      outputDir: `/data/lammps/runs/${remote!.runId}`,
      outputLocal: false,
      outputNodes: [],
      outputVolume: `lammps-${remote!.runId}-data`,
    });
    const table = await h.run(['jobs']);
    expect(table.stdout).toMatch(
      new RegExp(`${remote!.runId}.*volume lammps-${remote!.runId}-data: lammps/runs/${remote!.runId}`),
    );
  });
});
