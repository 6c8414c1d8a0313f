// run-simulation and jobs, as a user runs them: real inputs, staged runs, followed Jobs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { clockAhead, createReadyHarness, until, runJobsOf, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const runJobs = () => runJobsOf(h);
const runDirs = async (tool: string) =>
  existsSync(join(h.project, 'data', tool, 'runs')) ? readdir(join(h.project, 'data', tool, 'runs')) : [];

describe('run-simulation', () => {
  it('stages the input, runs the Job from the template, streams its output, and exits 0', async () => {
    // Lines 200 ms apart: the pod stays Running long enough for a loaded machine to show that state.
    h.cluster.program = (pod: any) => ({
      lines: [
        `cwd=${pod.spec.containers[0].workingDir}`,
        'Step Temp E_pair',
        '250 1.64 -5.7',
        'Total wall time: 0:00:01',
      ],
      lineDelayMs: 200,
      exitCode: 0,
    });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [job] = runJobs();
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(job!.metadata.name).toBe(`lammps-${runId}`);
    expect(job!.metadata.labels['keystone.io/simulation']).toBe('lammps');
    expect(job!.spec.suspend).toBe(false);
    expect(job!.spec.backoffLimit).toBe(0);
    const container = job!.spec.template.spec.containers[0];
    expect(container.command).toEqual(['lmp', '-in', 'in.lj']);
    expect(container.workingDir).toBe(`/data/lammps/runs/${runId}`);
    expect(container.image).toBe('keystone/lammps:0.1.0'); // from the template in the cluster
    expect(container.resources).toEqual({
      requests: { memory: '512Mi', cpu: '500m' },
      limits: { memory: '4Gi', cpu: '2' },
    });
    // The staged copy sits in the run directory on the host, where outputs land.
    const staged = join(h.project, 'data', 'lammps', 'runs', runId!, 'in.lj');
    expect(await readFile(staged, 'utf8')).toBe(await readFile(join(h.project, 'data', 'lammps', 'in.lj'), 'utf8'));
    expect(r.stdout.split('\n')).toEqual([
      `cwd=/data/lammps/runs/${runId}`,
      'Step Temp E_pair',
      '250 1.64 -5.7',
      'Total wall time: 0:00:01',
    ]);
    expect(r.stderr).toContain(`Submitted run ${runId}`);
    expect(r.stderr).toMatch(/Running on k3d-keystone-cluster-/);
    expect(r.stderr).toContain(`run ${runId} succeeded`);
    expect(r.stderr.trim().split('\n').pop()).toContain(`output: data/lammps/runs/${runId}`);
  });

  it("runs the three shipped examples with their profiles' commands", async () => {
    for (const [tool, input, command] of [
      ['fenicsx', 'poisson.py', 'python3 poisson.py'],
      ['openfoam', 'cavity', 'bash -c'],
    ] as const) {
      const r = await h.run(['run-simulation', tool, input]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain(`running: ${command}`);
    }
    const foam = runJobs().find((j) => j.metadata.labels['keystone.io/simulation'] === 'openfoam')!;
    const argv = foam.spec.template.spec.containers[0].command;
    expect(argv.slice(-2)).toEqual(['keystone-openfoam', 'cavity']); // the case is "$1", not pasted into the script
    const runId = foam.metadata.labels['keystone.io/run-id']!;
    expect(existsSync(join(h.project, 'data', 'openfoam', 'runs', runId, 'cavity', 'system', 'controlDict'))).toBe(
      true,
    );
  });

  it("exits with the container's exit code when the simulation fails, and names OOMKilled", async () => {
    h.cluster.program = () => ({ lines: ['ERROR: Lost atoms: original 4000 current 3998'], exitCode: 3 });
    let r = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toContain('ERROR: Lost atoms');
    expect(r.stderr).toMatch(/error: run \S+ failed \(Error\) with exit code 3/);
    expect(r.stderr).toContain('hint: see the whole log: keystone jobs logs');

    h.cluster.program = () => ({ lines: [], exitCode: 137, reason: 'OOMKilled' });
    r = await h.run(['run-simulation', 'fenicsx', 'poisson.py']);
    expect(r.exitCode).toBe(137);
    expect(r.stderr).toMatch(/failed \(OOMKilled\) with exit code 137/);
  });

  it('refuses an image it cannot pin to a digest before anything is staged', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--image', 'keystone/lammps:9.9']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'cannot pin image keystone/lammps:9.9 to a digest: no node of context k3d-keystone-cluster has it',
    );
    expect(r.stderr).toContain('nothing was submitted');
    expect(runJobs()).toEqual([]);
    expect(await runDirs('lammps')).toEqual([]);
  });

  it('stops at once when the image cannot be pulled, says why, and cancels the run', async () => {
    // Given by digest, it is not looked up: the kubelet finds no registry that has it.
    const r = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--image',
      `keystone/lammps:9.9@sha256:${'0'.repeat(64)}`,
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the run cannot start: pod lammps-\S+: (ErrImagePull|ImagePullBackOff)/);
    expect(r.stderr).toContain('the run was cancelled (nothing ran)');
    expect(r.stderr).toContain('images/compose.yaml has keystone/lammps:0.1.0');
    await until(() => runJobs().length === 0, 'the job to be deleted');
  });

  it('maps --retries, --cpus, --memory, --env and --timeout onto the Job', async () => {
    const r = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--retries',
      '2',
      '--cpus',
      '1.5',
      '--memory',
      '8Gi',
      '--env',
      'OMP_NUM_THREADS=4',
      '--env',
      'NOTE=a b;c',
      '--timeout',
      '2h',
      '--',
      '-var',
      'T',
      '2.0',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [job] = runJobs();
    expect(job!.spec.backoffLimit).toBe(2);
    expect(job!.spec.activeDeadlineSeconds).toBe(7200);
    const c = job!.spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { memory: '8Gi', cpu: '1500m' }, limits: { memory: '8Gi', cpu: '1500m' } });
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'OMP_NUM_THREADS', value: '4' },
        { name: 'NOTE', value: 'a b;c' },
      ]),
    );
    expect(c.command).toEqual(['lmp', '-in', 'in.lj', '-var', 'T', '2.0']);
  });

  it('rejects bad options before creating anything (exit 2)', async () => {
    const before = h.api.requests.length;
    for (const args of [
      ['--cpus', '64'],
      ['--cpus', 'lots'],
      ['--memory', '1Ti'],
      ['--memory', '512'],
      ['--retries', '-1'],
      ['--env', '1X=2'],
      ['--timeout', 'forever'],
      ['--image', 'Bad Image'],
      ['--parallel', '2'],
    ]) {
      const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
    }
    expect(h.api.requests.length).toBe(before);
    expect(await runDirs('lammps')).toEqual([]);
  });

  it('an unknown tool is a usage error listing the known ones', async () => {
    const r = await h.run(['run-simulation', 'gromacs', 'x.tpr']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown simulation tool "gromacs"');
    expect(r.stderr).toContain('known tools: fenicsx, lammps, openfoam');
  });

  it('refuses bad input paths with a clear message, creating nothing', async () => {
    const outside = join(h.root, 'keystone-outside.lj'); // the sandbox's, not a fixed /tmp path another user may own
    await writeFile(outside, 'x');
    await symlink(outside, join(h.project, 'data', 'lammps', 'escape.lj'));
    const cases: [string, string, RegExp][] = [
      ['lammps', 'nope.lj', /input "nope\.lj" not found \(looked in data\/lammps\/ and the current directory\)/],
      ['lammps', 'data/openfoam/cavity', /is a directory; lammps takes a file/],
      ['openfoam', 'data/lammps/in.lj', /is a file; openfoam takes a directory/],
      // ../ up to a file that exists (the sandbox's: how deep /etc is depends on where the sandbox is).
      ['lammps', relative(h.project, outside), /is outside data\/ \(symlinks and \.\.\/ may not leave it\)/],
      ['lammps', 'data/lammps/../../k8s/configs/k3d-cluster-config.yaml', /outside data\//],
      ['lammps', 'escape.lj', /"escape\.lj" is outside data\//],
      ['lammps', 'in\nlj', /contains control characters/],
      ['lammps', '-rf', /input "-rf" not found/],
    ];
    const before = h.api.requests.length;
    for (const [tool, input, message] of cases) {
      // After --, commander passes "-rf" on as the input instead of reading it as an option.
      const r = await h.run(['run-simulation', tool, ...(input.startsWith('-') ? ['--'] : []), input]);
      expect(r.exitCode, input).toBe(2);
      expect(r.stderr, input).toMatch(message);
    }
    expect(h.api.requests.length).toBe(before);
    expect(await runDirs('lammps')).toEqual([]);
  });

  it('passes names with spaces, quotes, ; and $() through as plain data (no shell, no stray files)', async () => {
    const name = `in; touch PWNED $(touch PWNED2) 'q".lj`;
    await writeFile(join(h.project, 'data', 'lammps', name), 'run 0\n');
    const r = await h.run(['run-simulation', 'lammps', name]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(runJobs()[0]!.spec.template.spec.containers[0].command).toEqual(['lmp', '-in', name]);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    expect(existsSync(join(h.project, 'data', 'lammps', 'runs', runId, name))).toBe(true);
    for (const stray of ['PWNED', 'PWNED2']) {
      expect(existsSync(join(h.project, stray))).toBe(false);
      expect(existsSync(join(h.project, 'data', 'lammps', stray))).toBe(false);
    }
  });

  it("--detach returns the run id; jobs logs -f re-attaches and exits with the run's code", async () => {
    h.cluster.program = () => ({ lines: ['step 1', 'step 2', 'step 3'], lineDelayMs: 150, exitCode: 5 });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--detach']);
    expect(r.exitCode, r.stderr).toBe(0);
    const runId = r.stdout.trim();
    expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(r.stderr).toContain(`keystone jobs logs ${runId} -f`);
    const attached = await h.run(['jobs', 'logs', runId, '-f']);
    expect(attached.exitCode).toBe(5);
    expect(attached.stdout).toContain('step 3');
    const again = await h.run(['jobs', 'logs', runId]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.split('\n')).toEqual(['step 1', 'step 2', 'step 3']);
  });

  it('Ctrl-C while following detaches and says how to re-attach; --cancel-on-interrupt cancels', async () => {
    h.cluster.program = () => ({ lines: ['working'], exitCode: null });
    let child = h.spawn(['run-simulation', 'lammps', 'in.lj']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('working'), 'the run to start');
    child.kill('SIGINT');
    let r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(
      /Detached; run \S+ keeps going\. Re-attach: keystone jobs logs \S+ -f +Cancel: keystone jobs cancel/,
    );
    expect(runJobs()).toHaveLength(1);

    child = h.spawn(['run-simulation', 'fenicsx', 'poisson.py', '--cancel-on-interrupt']);
    out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('working'), 'the second run to start');
    child.kill('SIGINT');
    r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(/Cancelled run \S+; its output so far stays in data\/fenicsx\/runs\//);
    await until(() => runJobs().length === 1, 'the cancelled job to go');
  });

  it('a sweep of 2×3 values runs one Indexed Job, each index with its values and directory', async () => {
    h.cluster.program = (pod: any, index: number | undefined) => ({
      lines: [`index ${index} cwd ${pod.spec.containers[0].workingDir}`],
      exitCode: index === 4 ? 2 : 0,
    });
    const r = await h.run([
      'run-simulation',
      'fenicsx',
      'poisson.py',
      '--sweep',
      'N=16,32',
      '--sweep',
      'DEGREE=1,2,3',
      '--parallel',
      '2',
    ]);
    expect(r.exitCode).toBe(2); // index 4 failed with exit code 2
    const [job] = runJobs();
    expect(job!.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 6,
      parallelism: 2,
      backoffLimitPerIndex: 0,
    });
    expect(job!.spec.backoffLimit).toBeUndefined();
    expect(job!.spec.template.spec.containers[0].command.slice(0, 4)).toEqual([
      'sh',
      '-c',
      'cd "$JOB_COMPLETION_INDEX" && set -a && . ./params.env && set +a && exec "$@"',
      'keystone-sweep',
    ]);
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    const runDir = join(h.project, 'data', 'fenicsx', 'runs', runId);
    expect(await readFile(join(runDir, '0', 'params.env'), 'utf8')).toBe("N='16'\nDEGREE='1'\n");
    expect(await readFile(join(runDir, '5', 'params.env'), 'utf8')).toBe("N='32'\nDEGREE='3'\n");
    expect(existsSync(join(runDir, '3', 'poisson.py'))).toBe(true);
    for (let i = 0; i < 6; i++) expect(r.stdout).toContain(`[${i}] index ${i} cwd /data/fenicsx/runs/${runId}`);
    expect(r.stderr).toMatch(/INDEX\s+VALUES\s+STATE\s+EXIT/);
    expect(r.stderr).toMatch(/4\s+N=32 DEGREE=2\s+Failed\s+2/);
    expect(r.stderr).toMatch(/0\s+N=16 DEGREE=1\s+Succeeded\s+0/);
  });

  it('sweep values are quoted so sourcing them never runs them', async () => {
    const r = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--sweep', `X=$(rm -rf ~),it's`]);
    expect(r.exitCode, r.stderr).toBe(0);
    const runId = runJobs()[0]!.metadata.labels['keystone.io/run-id']!;
    const runDir = join(h.project, 'data', 'fenicsx', 'runs', runId);
    expect(await readFile(join(runDir, '0', 'params.env'), 'utf8')).toBe("X='$(rm -rf ~)'\n");
    expect(await readFile(join(runDir, '1', 'params.env'), 'utf8')).toBe("X='it'\\''s'\n");
  });

  it('reports a broken profiles file with file:line:col (exit 2)', async () => {
    const path = join(h.project, 'k8s', 'simulations', 'profiles.yaml');
    const text = await readFile(path, 'utf8');
    await writeFile(
      path,
      text.replace('command: ["lmp", "-in", "{input}", "{args}"]', 'command: ["lmp", "-in", "{inptu}"]'),
    );
    const r = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /k8s\/simulations\/profiles\.yaml:\d+:\d+: profiles\.lammps\.command: must use "\{input\}" somewhere/,
    );
  });
});

describe('jobs', () => {
  it('lists runs newest first with state, exit code and output directory; cancel and clean', async () => {
    h.cluster.program = (pod: any) =>
      pod.metadata.labels['keystone.io/simulation'] === 'fenicsx'
        ? { lines: ['x'], exitCode: 1 }
        : { lines: ['ok'], exitCode: 0 };
    expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
    // Run ids are stamped to the second by the clock keystone is given: each run a second later.
    expect((await h.run(['run-simulation', 'fenicsx', 'poisson.py'], { clock: clockAhead(1000) })).exitCode).toBe(1);
    h.cluster.program = () => ({ lines: ['forever'], exitCode: null });
    const detached = await h.run(['run-simulation', 'openfoam', 'cavity', '-d'], { clock: clockAhead(2000) });
    const runningId = detached.stdout.trim();

    const start = h.api.requests.length;
    const r = await h.run(['jobs', '-o', 'json']);
    const runs = JSON.parse(r.stdout);
    // Jobs and MPIJobs (404 here: no MPI Operator) in one round, then the pods of the runs whose
    // summary needs them: the failed run's exit code is its pod's; the running one's state is its pods'.
    const failedId = runs.find((x: { state: string }) => x.state === 'Failed').runId;
    const made = h.api.requests.slice(start).map((q) => `${q.path}${decodeURIComponent(q.query.replace(/\+/g, ' '))}`);
    expect([...made.slice(0, 2).sort(), ...made.slice(2)]).toEqual([
      '/apis/batch/v1/namespaces/keystone/jobs?labelSelector=keystone.io/run-id&limit=500',
      '/apis/kubeflow.org/v2beta1/namespaces/keystone/mpijobs?labelSelector=keystone.io/run-id&limit=500',
      `/api/v1/namespaces/keystone/pods?labelSelector=keystone.io/run-id in (${failedId},${runningId})&limit=500`,
    ]);
    expect(runs.map((x: { tool: string; state: string; exitCode?: number }) => [x.tool, x.state, x.exitCode])).toEqual([
      ['openfoam', expect.stringMatching(/Running|Pending/), undefined],
      ['fenicsx', 'Failed', 1],
      ['lammps', 'Succeeded', 0],
    ]);
    expect(runs[2].outputDir).toBe(join(h.project, 'data', 'lammps', 'runs', runs[2].runId));
    const table = await h.run(['jobs', '--tool', 'lammps']);
    expect(table.stdout).toMatch(
      /^RUN ID\s+TOOL\s+STATE\s+STARTED\s+DURATION\s+EXIT\s+OUTPUT\n\S+\s+lammps\s+Succeeded\s+\S+ ago\s+\S+\s+0\s+data\/lammps\/runs\//,
    );

    const cancel = await h.run(['jobs', 'cancel', runningId]);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    expect(cancel.stderr).toContain(`Cancelled run ${runningId} (it was stopped); outputs kept in`);
    await until(
      () => !h.api.objects('pods').some((p: any) => p.metadata.labels['keystone.io/run-id'] === runningId),
      'its pods to go',
    );
    expect(existsSync(join(h.project, 'data', 'openfoam', 'runs', runningId, 'cavity'))).toBe(true);

    let clean = await h.run(['jobs', 'clean', '--failed', '--purge-outputs']);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stderr).toMatch(/deleted run \S+ \(fenicsx, failed\); removed data\/fenicsx\/runs\/\S+/);
    expect(await runDirs('fenicsx')).toEqual([]);
    expect(runJobs().map((j) => j.metadata.labels['keystone.io/simulation'])).toEqual(['lammps']);
    clean = await h.run(['jobs', 'clean', '--older-than', '7d']);
    expect(clean.stderr).toContain('Nothing to clean.');
    // One run left, done well with its outputs here: listed from its Job alone, no pod request.
    const listed = h.api.requests.length;
    expect(
      JSON.parse((await h.run(['jobs', '-o', 'json'])).stdout).map((x: { state: string; exitCode: number }) => [
        x.state,
        x.exitCode,
      ]),
    ).toEqual([['Succeeded', 0]]);
    expect(
      h.api.requests
        .slice(listed)
        .map((q) => q.path)
        .sort(),
    ).toEqual(['/apis/batch/v1/namespaces/keystone/jobs', '/apis/kubeflow.org/v2beta1/namespaces/keystone/mpijobs']);
    clean = await h.run(['jobs', 'clean']);
    expect(clean.stderr).toMatch(/deleted run \S+ \(lammps, succeeded\); outputs kept/);
    expect(await runDirs('lammps')).toHaveLength(1);
  });

  it("a run id is the time of the clock keystone is given, not the machine's", async () => {
    h.cluster.program = () => ({ lines: ['forever'], exitCode: null });
    const at = Date.parse('2031-02-03T04:05:06.789Z');
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '-d'], {
      clock: { now: () => at, sleep: async () => undefined },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^20310203-040506-[0-9a-f]{4}$/);
    expect(runJobs()[0]!.metadata.labels['keystone.io/run-id']).toBe(r.stdout);
  });

  it('unknown and malformed run ids', async () => {
    let r = await h.run(['jobs', 'cancel', '20200101-000000-abcd']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no run 20200101-000000-abcd; there are no runs');
    r = await h.run(['jobs', 'logs', '../../etc']);
    expect(r.exitCode).toBe(2);
  });
});
