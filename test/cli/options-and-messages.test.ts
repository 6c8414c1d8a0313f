// Issue 22 #13-#16: options and messages. A command's --help lists only the options it accepts
// (the refusal and the help read one list); hints say how to install the stack on the cluster
// named; `jobs plot` names the series there are; and the smaller edges of #16.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command, Option } from 'commander';
import { CommanderError } from 'commander';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildProgram } from '../../src/cli.js';
import { createHarness, createReadyHarness, fastClock, runJobsOf, until, type Harness } from '../helpers/harness.js';
import { createLabCluster } from '../helpers/lab-cluster.js';
import { kubeconfigFor } from '../fakes/kube-api-server.mjs';

let h: Harness;
beforeAll(async () => {
  h = await createReadyHarness();
}, 120_000);
afterAll(async () => h?.cleanup());

/** Every command of the program with its path (`jobs logs`). */
function commandsOf(command: Command, path: string[] = []): { command: Command; path: string[] }[] {
  return command.commands.flatMap((c) => [
    { command: c, path: [...path, c.name()] },
    ...commandsOf(c, [...path, c.name()]),
  ]);
}

/** The "Global Options:" section of a help text: its flags. */
function globalOptionsIn(help: string): string[] {
  const section = help.split('Global Options:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}(-\S+?)(?:,|\s|$)(?: (--\S+))?/gm)].map((m) => m[2] ?? m[1]!);
}

describe('--help lists only what the command accepts (#13)', () => {
  it('for every command, an inherited option is in its "Global Options" exactly when typing it is not refused', async () => {
    let ran = 0;
    const program = buildProgram('0.0.0', async () => {
      ran++;
    });
    const quiet = (c: Command) => {
      c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
      for (const sub of c.commands) quiet(sub);
    };
    quiet(program);
    let checked = 0;
    for (const { command, path } of commandsOf(program)) {
      const listed = new Set(globalOptionsIn(command.helpInformation()));
      const args = command.registeredArguments.filter((a) => a.required).map(() => 'x');
      for (let owner = command.parent; owner; owner = owner.parent) {
        for (const option of owner.options as Option[]) {
          if (option.hidden || option.long === '--version') continue;
          const typed = [option.long!, ...(option.required ? [option.argChoices?.[0] ?? 'x'] : [])];
          let refused = false;
          try {
            await program.parseAsync([...path, ...args, ...typed], { from: 'user' });
          } catch (err) {
            if (!(err instanceof CommanderError)) throw err;
            refused = err.code === 'keystone.inapplicableOption';
          }
          expect(listed.has(option.long!), `keystone ${path.join(' ')} ${typed.join(' ')}`).toBe(!refused);
          checked++;
        }
      }
    }
    expect(ran).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(100);
  });

  it('jobs logs, cancel, fetch and plot --help (the built CLI) list none of -o, --tool, --all; completion --help none of the cluster options', async () => {
    for (const sub of ['logs', 'cancel', 'fetch', 'plot']) {
      const r = await h.runProcess(['jobs', sub, '--help']);
      expect(r.exitCode).toBe(0);
      const listed = globalOptionsIn(r.stdout);
      expect(listed, sub).toEqual([
        '--version',
        '--context',
        '--kubeconfig',
        '--config',
        '--timeout',
        '--verbose',
        '--quiet',
      ]);
    }
    const completion = await h.runProcess(['completion', '--help']);
    expect(globalOptionsIn(completion.stdout)).toEqual(['--version', '--verbose', '--quiet']);
    // TAB after `jobs logs x -` offers what --help lists, not the refused -o/--tool/--all.
    const tab = await h.run(['__complete', '--', 'jobs', 'logs', 'x', '-']);
    expect(tab.stdout.split('\n')).not.toContain('--tool');
    expect(tab.stdout.split('\n')).toContain('--context');
  });
});

describe('hints name the command that installs the stack on the cluster named (#14)', () => {
  it('on another cluster without the stack: `keystone apply --context X --kubeconfig F`, never `keystone setup`; on the k3d cluster: `keystone setup`', async () => {
    const bare = await createHarness();
    try {
      const file = join(bare.home, 'bare.yaml');
      await writeFile(file, stringify(kubeconfigFor(bare.api.url, 'bare')), { mode: 0o600 });
      bare.api.create('nodes', {
        metadata: { name: 'bare-node-1' },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
      const onBare = ['--context', 'bare', '--kubeconfig', file];
      const apply = `keystone apply --context bare --kubeconfig ${file}`;
      const run = await bare.run(['run-simulation', 'lammps', 'in.lj', ...onBare]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`hint: run \`${apply}\` to apply k8s/manifests`);
      for (const args of [
        ['rollback', 'celery-worker', '--list'],
        ['scale', 'celery-worker', '2'],
        ['restart', 'all'],
      ]) {
        const r = await bare.run([...args, ...onBare]);
        expect(r.exitCode, args.join(' ')).toBe(1);
        expect(r.stderr, args.join(' ')).toContain(`no deployment "${args[1]}"; deployments: (none: run \`${apply}\`)`);
      }
      const status = await bare.run(['status', '-o', 'json', ...onBare]);
      expect(JSON.parse(status.stdout).verdict).toBe(`Not healthy: the stack is not deployed; run \`${apply}\`.`);
      const doctor = await bare.run(['doctor', '--context', 'elsewhere', '--kubeconfig', file]);
      expect(doctor.stdout).toContain('context "elsewhere" is not in');
      expect(doctor.stdout).toContain('pass --context with a context in those files');
      for (const r of [run, status, doctor]) expect(r.stdout + r.stderr).not.toContain('keystone setup');
      // The same hint works: apply installs the stack there, and the run then finds its template.
      expect((await bare.run(['apply', ...onBare])).exitCode).toBe(0);
      const after = await bare.run(['run-simulation', 'lammps', 'in.lj', '-d', ...onBare]);
      expect(after.stderr).not.toContain('is not in the cluster');
    } finally {
      await bare.cleanup();
    }
    // keystone's own cluster: setup is the command (it makes the cluster too).
    h.api.remove('jobs', 'keystone', 'lammps-template');
    const local = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(local.exitCode).toBe(1);
    expect(local.stderr).toContain('hint: run `keystone setup` to apply k8s/manifests');
    expect((await h.run(['apply'])).exitCode).toBe(0);
  });
});

/** A finished LAMMPS run whose log has the thermo columns Temp and E_pair; its id. */
async function lammpsRun(): Promise<string> {
  h.cluster.program = () => ({ lines: ['Step Temp E_pair', '0 1.5 -6.7', '100 1.4 -6.6', 'done'], exitCode: 0 });
  const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--progress', 'none']);
  expect(r.exitCode, r.stderr).toBe(0);
  return /Submitted run (\S+)/.exec(r.stderr)![1]!;
}

describe('jobs plot names the series there are, and refuses a picture it cannot write before any work (#15)', () => {
  it('--series Bogus and --series Temp,Bogus: refused naming Bogus and listing the series of the log (exit 1); --series "," is a usage error', async () => {
    const id = await lammpsRun();
    for (const series of ['Bogus', 'Temp,Bogus']) {
      const r = await h.run(['jobs', 'plot', id, '--series', series]);
      expect(r.exitCode, series).toBe(1);
      expect(r.stdout, series).toBe('');
      expect(r.stderr, series).toContain(`error: run ${id}'s log has no series Bogus; it has: Temp, E_pair`);
      expect(r.stderr, series).toContain('hint: --series takes names from that list, comma-separated');
      expect(r.stderr, series).not.toContain('first output step');
    }
    const ok = await h.run(['jobs', 'plot', id, '--series', 'Temp']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('* Temp');
    const empty = await h.run(['jobs', 'plot', id, '--series', ',']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('error: --series , names no series');
  });

  it('--out in a directory that does not exist, or that is a file, or --out a directory: one line and a hint, exit 2, before the run is looked up', async () => {
    await writeFile(join(h.project, 'a-file'), 'x');
    await mkdir(join(h.project, 'pics.svg'), { recursive: true });
    const before = h.api.requests.length;
    for (const [out, reason] of [
      ['/nonexistent/dir/p.svg', '--out /nonexistent/dir/p.svg: there is no directory /nonexistent/dir'],
      ['a-file/p.svg', '--out a-file/p.svg: a-file is not a directory'],
      ['pics.svg', '--out pics.svg is a directory'],
    ] as const) {
      const r = await h.run(['jobs', 'plot', '20261125-214700-a3f9', '--out', out]);
      expect(r.exitCode, out).toBe(2);
      expect(r.stderr.split('\n')[0], out).toBe(`error: ${reason}`);
      expect(r.stderr, out).toMatch(/\nhint: /);
      expect(r.stderr, out).not.toContain('unexpected');
    }
    expect(h.api.requests.length).toBe(before); // refused before the run was looked up
  });
});

describe('the smaller edges (#16)', () => {
  it('describe takes KIND/NAME as events --for does (pod/, deployment/, run/), says which kind it does not know, and never "name name"; events --for "" is refused', async () => {
    const redis = h.api
      .objects('pods')
      .find((p: { metadata: { name: string } }) => p.metadata.name.startsWith('redis-')).metadata.name as string;
    const deployment = await h.run(['describe', 'deployment/redis']);
    expect(deployment.exitCode, deployment.stderr).toBe(0);
    expect(deployment.stdout).toMatch(/^Deployment redis: /);
    const pod = await h.run(['describe', `pod/${redis}`]);
    expect(pod.exitCode, pod.stderr).toBe(0);
    expect(pod.stdout).toMatch(new RegExp(`^Pod ${redis}: `));
    // pod/redis: only pods are looked at, and no pod is called redis (the deployment is).
    const notPod = await h.run(['describe', 'pod/redis']);
    expect(notPod.exitCode).toBe(1);
    expect(notPod.stderr).toContain('error: no pod "redis" in namespace keystone');
    const unknownKind = await h.run(['describe', 'svc/redis']);
    expect(unknownKind.exitCode).toBe(2);
    expect(unknownKind.stderr).toContain('error: describe takes deployment/NAME, pod/NAME or run/ID, not "svc/…"');
    const bad = await h.run(['describe', 'Redis!']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('error: "Redis!" is not a valid deployment, pod or run name');
    expect(bad.stderr).not.toContain('name name');
    for (const [args, message] of [
      [['events', '--for', ''], 'error: --for "" names nothing'],
      [['events', '--for', 'pod/'], 'error: --for "pod/" names nothing'],
      [['describe', 'pod/'], 'error: describe "pod/" names nothing'],
    ] as const) {
      const r = await h.run([...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toContain(message);
    }
  });

  it('each refusal of -o by a jobs subcommand gives its own reason (fetch is not logs)', async () => {
    const reasons = new Map<string, string>();
    for (const sub of ['logs', 'cancel', 'fetch', 'plot', 'show', 'rerun']) {
      const r = await h.run(['jobs', '-o', 'json', sub, '20261125-214700-a3f9']);
      const m = new RegExp(`error: --output does not apply to \`keystone jobs ${sub}\`: (.*)`).exec(r.stderr);
      if (sub === 'show') {
        expect(m, 'jobs show takes -o').toBeNull();
        continue;
      }
      expect(r.exitCode, sub).toBe(2);
      reasons.set(sub, m![1]!);
    }
    expect(reasons.get('fetch')).toBe(
      "it writes the run's files to disk and reports on stderr, with no data to format",
    );
    expect(reasons.get('cancel')).toBe('it says what it did in one line on stderr, with no data to format');
    expect(reasons.get('logs')).toBe("it prints the run's own output as it is");
    expect(reasons.get('rerun')).toBe(reasons.get('logs')); // it follows the run's output as logs -f does
  });

  it('logs and jobs logs retry a 503 or 429 on the log stream as every other read does (src/retry.ts), and give up after the same bounded tries', async () => {
    const id = await lammpsRun();
    const isLog = (q: { path: string }) => q.path.endsWith('/log');
    for (const args of [
      ['logs', 'redis'],
      ['jobs', 'logs', id],
    ]) {
      h.api.faults.push({ match: isLog, status: 503, times: 1 }, { match: isLog, status: 429, times: 1 });
      const r = await h.run(args, { clock: fastClock() }); // the retry pauses pass on the test's clock
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr, args.join(' ')).not.toContain('injected');
    }
    expect((await h.run(['jobs', 'logs', id])).stdout).toContain('100 1.4 -6.6');
    const fault = { match: isLog, status: 503, times: 100 };
    h.api.faults.push(fault);
    try {
      const before = h.api.requests.filter(isLog).length;
      const r = await h.run(['jobs', 'logs', id], { clock: fastClock() });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('injected 503');
      expect(h.api.requests.filter(isLog).length - before).toBe(4); // the first try and three retries, as for reads
    } finally {
      fault.times = 0;
    }
  });

  it('a second jobs cancel is "nothing to stop", exit 0, on the k3d cluster as on another one; a finished run is never deleted by cancel; an id that names no run is exit 1', async () => {
    const labFile = join(h.home, 'lab.yaml');
    await writeFile(labFile, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
    const lab = ['--context', 'lab', '--kubeconfig', labFile];
    h.cluster.program = () => ({ lines: ['forever'], exitCode: null });
    for (const where of [[], lab]) {
      const started = await h.run(['run-simulation', 'lammps', 'in.lj', '-d', ...where]);
      expect(started.exitCode, started.stderr).toBe(0);
      const id = started.stdout.trim();
      const first = await h.run(['jobs', 'cancel', id, ...where]);
      expect(first.exitCode, first.stderr).toBe(0);
      expect(first.stderr).toContain(`Cancelled run ${id} (it was stopped)`);
      const second = await h.run(['jobs', 'cancel', id, ...where]);
      expect(second.exitCode, `${where.length ? 'lab' : 'k3d'}: ${second.stderr}`).toBe(0);
      expect(second.stderr).toMatch(
        where.length
          ? new RegExp(`Run ${id} was already cancelled: nothing to stop, nothing deleted`)
          : new RegExp(
              `Run ${id} is no longer in the cluster \\(cancelled or cleaned before\\): nothing to stop, nothing deleted; its run directory data/lammps/runs/${id} is kept`,
            ),
      );
    }
    const done = await lammpsRun();
    const cancelDone = await h.run(['jobs', 'cancel', done]);
    expect(cancelDone.exitCode).toBe(0);
    expect(cancelDone.stderr).toContain(`Run ${done} had already succeeded: nothing to stop, nothing deleted`);
    expect(runJobsOf(h).some((j) => j.metadata.labels['keystone.io/run-id'] === done)).toBe(true); // still listed
    const unknown = await h.run(['jobs', 'cancel', '20200101-000000-abcd']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('error: no run 20200101-000000-abcd');
  });

  it('jobs fetch names what it does not bring (a symlink, a named pipe), instead of skipping it silently', async () => {
    const { h: labH, lab } = await createLabCluster();
    try {
      labH.cluster.readWriteMany = true;
      labH.cluster.program = (pod: any) => {
        const runDir = join(
          labH.api.claimDir('keystone', 'keystone-data'),
          'lammps',
          'runs',
          pod.metadata.labels['keystone.io/run-id'],
        );
        writeFileSync(join(runDir, 'log.lammps'), 'Step Temp\n0 1.5\n');
        symlinkSync('log.lammps', join(runDir, 'latest.log'));
        execFileSync('mkfifo', [join(runDir, 'progress.pipe')]);
        return { lines: ['done'], exitCode: 0 };
      };
      const run = await labH.run(['run-simulation', 'lammps', 'in.lj', '-d', ...lab]);
      const id = run.stdout.trim();
      await until(() => runJobsOf(labH)[0]?.status?.succeeded === 1, 'the run to succeed');
      const r = await labH.run(['jobs', 'fetch', id, ...lab]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        'warning: not fetched: 2 entries that are not a regular file: latest.log (symbolic link), progress.pipe (named pipe)',
      );
      expect(existsSync(join(labH.project, 'data', 'lammps', 'runs', id, 'log.lammps'))).toBe(true);
    } finally {
      await labH.cleanup();
    }
  });

  it('jobs clean --purge-outputs names only directories that are there, in its plan and its report', async () => {
    const id = await lammpsRun();
    await rm(join(h.project, 'data', 'lammps', 'runs', id), { recursive: true });
    const dir = `data/lammps/runs/${id}`;
    for (const args of [['--dry-run'], ['--yes']]) {
      const r = await h.run(['jobs', 'clean', '--tool', 'lammps', '--purge-outputs', ...args]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr, args[0]).toContain(`${id} (lammps, succeeded) (its directory ${dir} was already gone)`);
      expect(r.stderr, args[0]).not.toContain(`and its outputs ${dir}`);
      expect(r.stderr, args[0]).not.toContain(`removed ${dir}`);
    }
  });

  it('an unknown cluster of short flags is reported as typed: -var, not -ar', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '-var', 'T', '2.0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("error: unknown option '-var' (read as -v, then '-ar')");
    expect(r.stderr).toContain('hint: options for the simulation program go after --');
    const plain = await h.run(['pods', '-x']);
    expect(plain.stderr).toContain("error: unknown option '-x'\n");
  });

  it('--sweep T=1,1 is refused naming the value given twice; --volume-size on the k3d cluster is refused; nothing is submitted', async () => {
    const jobs = () => runJobsOf(h).length;
    const before = jobs();
    const sweep = await h.run(['run-simulation', 'lammps', 'in.lj', '--sweep', 'T=1,2,1', '-d']);
    expect(sweep.exitCode).toBe(2);
    expect(sweep.stderr).toContain('error: --sweep T gives the value "1" twice (each value makes one run)');
    const size = await h.run(['run-simulation', 'lammps', 'in.lj', '--volume-size', '20Gi', '-d']);
    expect(size.exitCode).toBe(2);
    expect(size.stderr).toContain(
      'error: --volume-size does not apply on the keystone k3d cluster: runs write to ./data on this machine',
    );
    expect(jobs()).toBe(before);
  });
});

describe("keystone's environment variables are checked once, for every command (#16)", () => {
  it('KEYSTONE_HOME=<a file>, KEYSTONE_DOCKER_TIMEOUT=abc, KEYSTONE_PROJECT_DIR=<missing>: every command (doctor and setup alike) says so in one line, exit 2, and calls no tool', async () => {
    const file = join(h.project, 'a-file');
    await writeFile(file, 'x');
    const program = buildProgram('0.0.0', async () => undefined);
    const commands = commandsOf(program).filter(({ command }) => !(command as unknown as { _hidden: boolean })._hidden);
    expect(commands.length).toBeGreaterThan(25);
    for (const [env, message] of [
      [{ KEYSTONE_HOME: file }, `error: KEYSTONE_HOME=${file} is not a directory`],
      [{ KEYSTONE_DOCKER_TIMEOUT: 'abc' }, 'error: KEYSTONE_DOCKER_TIMEOUT "abc" is not a duration'],
      [
        { KEYSTONE_PROJECT_DIR: join(h.project, 'nowhere') },
        `error: KEYSTONE_PROJECT_DIR=${join(h.project, 'nowhere')} does not exist`,
      ],
    ] as const) {
      for (const { command, path } of commands) {
        const args = command.registeredArguments.filter((a) => a.required).map(() => 'x');
        const calls = (await h.calls()).length;
        const r = await h.run([...path, ...args], { env });
        const what = `${Object.keys(env)[0]}: keystone ${path.join(' ')}`;
        expect(r.exitCode, `${what}: ${r.stderr}`).toBe(2);
        expect(r.stderr.split('\n')[0], what).toBe(message);
        expect(r.stderr, what).toMatch(/\nhint: /);
        expect((await h.calls()).length, what).toBe(calls);
      }
    }
  });
});
