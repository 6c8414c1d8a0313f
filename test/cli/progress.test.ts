// run-simulation shows a run's progress from its output (the pod's log replays a real LAMMPS log).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, repoRoot, until, type Harness } from '../helpers/harness.js';
import { progressEventSchema } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const realLog = async (name: string) =>
  (await readFile(join(repoRoot, 'test', 'fixtures', 'engine-logs', name), 'utf8')).trimEnd().split('\n');

describe('run-simulation --progress', () => {
  it('json: one progress event per thermo step on stderr, against the run N of the input and -var', async () => {
    const lines = await realLog('lammps-in.lj-T2.0-steps1000.log');
    h.cluster.program = () => ({ lines, exitCode: 0 });
    const r = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--progress',
      'json',
      '--',
      '-var',
      'T',
      '2.0',
      '-var',
      'steps',
      '1000',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(21);
    for (const e of events) expect(progressEventSchema.safeParse(e).error?.issues ?? []).toEqual([]);
    expect(events[0]).toMatchObject({ event: 'progress', current: 0, total: 1000, percent: 0 });
    expect(events.at(-1)).toMatchObject({ current: 1000, total: 1000, percent: 100, overallPercent: 100 });
    // The run's own output is on stdout, untouched.
    expect(r.stdout.trimEnd().split('\n')).toEqual(lines);
  });

  it('off a terminal by default: a plain line per 10%, no animation', async () => {
    const lines = await realLog('openfoam-cavity.log');
    h.cluster.program = () => ({ lines, exitCode: 0 });
    const r = await h.run(['run-simulation', 'openfoam', 'cavity']);
    expect(r.exitCode, r.stderr).toBe(0);
    const progress = r.stderr.split('\n').filter((l) => /%/.test(l));
    expect(progress.map((l) => /(\d+)% time ([\d.]+)\/0\.5/.exec(l)?.slice(1))).toEqual([
      ['1', '0.005'],
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => [String(t * 10), String(t / 20)]),
    ]);
    expect(r.stderr).not.toMatch(/\r|\u001b/);
  });

  it('--progress none shows nothing; a wrong mode is a usage error before anything is submitted', async () => {
    const lines = await realLog('fenicsx-poisson.log');
    h.cluster.program = () => ({ lines, exitCode: 0 });
    const quiet = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--progress', 'none']);
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/%/);
    const bad = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--progress', 'fancy']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--progress "fancy" is not a progress mode');
    expect(h.api.objects('jobs').filter((j: any) => j.metadata.labels?.['keystone.io/run-id'])).toHaveLength(1);
  });
});

describe('jobs logs -f --progress', () => {
  it('shows the progress of a run it attaches to, its total read from the staged input', async () => {
    const lines = await realLog('openfoam-cavity.log');
    h.cluster.program = () => ({ lines: [], exitCode: null }); // runs until the test ends it
    const submitted = await h.run(['run-simulation', 'openfoam', 'cavity', '--detach']);
    expect(submitted.exitCode, submitted.stderr).toBe(0);
    const runId = submitted.stdout.trim();
    const podOf = () =>
      h.api
        .objects('pods')
        .find((p: any) => p.metadata.labels?.['keystone.io/run-id'] === runId && p.status.phase === 'Running');
    await until(() => podOf(), 'the run pod running');
    const pod = podOf();
    const following = h.run(['jobs', 'logs', runId, '-f']);
    // Once it follows the pod's log, the code writes its output and exits.
    await until(
      () =>
        h.api.requests.some(
          (q) => q.path.endsWith(`/pods/${pod.metadata.name}/log`) && q.query.includes('follow=true'),
        ),
      'jobs logs -f following the log',
    );
    for (const line of lines) h.api.appendLog('keystone', pod.metadata.name, pod.spec.containers[0].name, line);
    // The container exits as the kubelet reports it (as the fake's own program end does).
    const now = new Date().toISOString();
    const current = h.api.get('pods', 'keystone', pod.metadata.name);
    h.api.update('pods', {
      ...current,
      status: {
        ...current.status,
        phase: 'Succeeded',
        conditions: current.status.conditions.map((c: any) =>
          c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'PodCompleted' } : c,
        ),
        containerStatuses: current.status.containerStatuses.map((cs: any) => ({
          ...cs,
          ready: false,
          started: false,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
        })),
      },
    });
    h.api.endLogs('keystone', pod.metadata.name, pod.spec.containers[0].name);
    const r = await following;
    expect(r.exitCode, r.stderr).toBe(0);
    const progress = r.stderr.split('\n').filter((l) => /%/.test(l));
    expect(progress.map((l) => /(\d+)% time ([\d.]+)\/0\.5/.exec(l)?.slice(1))).toEqual([
      ['1', '0.005'],
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => [String(t * 10), String(t / 20)]),
    ]);
    expect(r.stdout.trimEnd().split('\n')).toEqual(lines);
  });
});
