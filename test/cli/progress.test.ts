// run-simulation shows a run's progress from its output (the pod's log replays a real LAMMPS log).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, repoRoot, type Harness } from '../helpers/harness.js';
import { progressEventSchema } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const realLog = async (name: string) => (await readFile(join(repoRoot, 'test', 'fixtures', 'engine-logs', name), 'utf8')).trimEnd().split('\n');

describe('run-simulation --progress', () => {
  it('json: one progress event per thermo step on stderr, against the run N of the input and -var', async () => {
    const lines = await realLog('lammps-in.lj-T2.0-steps1000.log');
    h.cluster.program = () => ({ lines, exitCode: 0 });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--progress', 'json', '--', '-var', 'T', '2.0', '-var', 'steps', '1000']);
    expect(r.exitCode, r.stderr).toBe(0);
    const events = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
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
    expect(progress.map((l) => /(\d+)% time ([\d.]+)\/0\.5/.exec(l)?.slice(1))).toEqual(
      [['1', '0.005'], ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => [String(t * 10), String(t / 20)])],
    );
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
