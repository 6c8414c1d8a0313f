// Run progress read from the codes' own output, as the profiles say (k8s/simulations/profiles.yaml),
// over logs recorded from real runs of the engines (test/fixtures/engine-logs, see SOURCES.md).
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadProfiles, parseProfiles } from '../../src/runs/request/profiles.js';
import {
  ProgressTracker,
  progressLine,
  readTotal,
  totalFromText,
  type ProgressEvent,
  type ProgressProfile,
} from '../../src/runs/request/progress.js';
import { ProgressDisplay } from '../../src/runs/follow/display.js';
import { Ui } from '../../src/ui/ui.js';
import { repoRoot } from '../helpers/harness.js';

const profiles = await loadProfiles(join(repoRoot, 'k8s', 'simulations', 'profiles.yaml'), repoRoot);
const spec = (tool: string): ProgressProfile => profiles[tool]!.progress!;
const log = (name: string) => readFile(join(repoRoot, 'test', 'fixtures', 'engine-logs', name), 'utf8');
const lammpsInput = { path: join(repoRoot, 'data', 'lammps', 'in.lj'), kind: 'file' as const };
const cavity = { path: join(repoRoot, 'data', 'openfoam', 'cavity'), kind: 'directory' as const };

/** Feeds a log line by line, the clock advancing one second per line. */
function feed(tracker: ProgressTracker, text: string, prefix?: string): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  for (const line of text.split('\n')) {
    const e = tracker.observe(prefix, line);
    if (e) events.push(e);
  }
  return events;
}
const clock = () => {
  let t = 0;
  return () => (t += 1000);
};

describe('progress from real engine output', () => {
  it("LAMMPS: thermo steps against the input's run ${steps} (variable index 250)", async () => {
    const total = await readTotal(spec('lammps'), lammpsInput, []);
    expect(total).toBe(250);
    const events = feed(
      new ProgressTracker(spec('lammps'), { runId: 'r', total, now: clock() }),
      await log('lammps-in.lj.log'),
    );
    expect(events.map((e) => e.current)).toEqual([0, 50, 100, 150, 200, 250]);
    expect(events.map((e) => e.percent)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(events.at(-1)!.etaSeconds).toBe(0);
    // Between two thermo lines the log has a steady number of lines: the ETA is linear in them.
    expect(events[2]!.etaSeconds).toBeGreaterThan(events[4]!.etaSeconds!);
  });

  it("LAMMPS: -var steps 1000 on the command line overrides the input's definition", async () => {
    const total = await readTotal(spec('lammps'), lammpsInput, ['-var', 'T', '2.0', '-var', 'steps', '1000']);
    expect(total).toBe(1000);
    const events = feed(
      new ProgressTracker(spec('lammps'), { runId: 'r', total }),
      await log('lammps-in.lj-T2.0-steps1000.log'),
    );
    expect(events).toHaveLength(21);
    expect(events[10]).toMatchObject({ current: 500, total: 1000, percent: 50 });
    expect(events.at(-1)).toMatchObject({ current: 1000, percent: 100 });
  });

  it("OpenFOAM: Time = t against endTime in the case's system/controlDict", async () => {
    const total = await readTotal(spec('openfoam'), cavity, []);
    expect(total).toBe(0.5);
    const events = feed(
      new ProgressTracker(spec('openfoam'), { runId: 'r', total, now: clock() }),
      await log('openfoam-cavity.log'),
    );
    // icoFoam's 100 time steps (deltaT 0.005); "ExecutionTime = ..." lines are not taken for Time.
    expect(events).toHaveLength(100);
    expect(events[0]).toMatchObject({ current: 0.005, percent: 1 });
    expect(events[49]).toMatchObject({ current: 0.25, percent: 50 });
    expect(events.at(-1)).toMatchObject({ current: 0.5, percent: 100, etaSeconds: 0 });
    expect(progressLine(events[49]!, 'time')).toMatch(/^\[█{10}░{10}\] {2}50% time 0\.25\/0\.5 · ETA \d+s$/);
  });

  it('FEniCSx: "progress K/N" lines printed by poisson.py carry their own total', async () => {
    const events = feed(new ProgressTracker(spec('fenicsx'), { runId: 'r' }), await log('fenicsx-poisson.log'));
    expect(events.map((e) => [e.current, e.total, e.percent])).toEqual([
      [1, 4, 25],
      [2, 4, 50],
      [3, 4, 75],
      [4, 4, 100],
    ]);
    expect(await readFile(join(repoRoot, 'data', 'fenicsx', 'poisson.py'), 'utf8')).toContain(
      'say(f"progress {STAGES}/{STAGES}")',
    );
  });

  it("a profile's pattern finds nothing in another code's output", async () => {
    for (const [tool, other] of [
      ['lammps', 'openfoam-cavity.log'],
      ['lammps', 'fenicsx-poisson.log'],
      ['openfoam', 'lammps-in.lj.log'],
      ['fenicsx', 'openfoam-cavity.log'],
    ] as const) {
      expect(
        feed(new ProgressTracker(spec(tool), { runId: 'r', total: 10 }), await log(other)),
        `${tool} on ${other}`,
      ).toEqual([]);
    }
  });

  it("a sweep: each index's percent and the overall percent (indexes not started count 0)", async () => {
    const tracker = new ProgressTracker(spec('lammps'), { runId: 'r', total: 250, indexes: 2 });
    const index0 = feed(tracker, await log('lammps-in.lj.log'), '0');
    expect(index0.at(-1)).toMatchObject({ index: 0, percent: 100, overallPercent: 50 });
    const index1 = feed(tracker, (await log('lammps-in.lj.log')).split('\n').slice(0, 30).join('\n'), '1');
    expect(index1.map((e) => e.overallPercent)).toEqual([50, 60, 70]);
  });

  it('without a total, the current value is reported without a percent or an ETA', async () => {
    const events = feed(new ProgressTracker(spec('lammps'), { runId: 'r' }), await log('lammps-in.lj.log'));
    expect(events).toHaveLength(6);
    expect(events.every((e) => e.percent === undefined && e.etaSeconds === undefined)).toBe(true);
    expect(progressLine(events[1]!, 'step')).toBe('step 50');
    // An input without "run" has no total.
    expect(totalFromText(spec('lammps'), 'units lj\n', [])).toBeUndefined();
    expect(totalFromText(spec('lammps'), 'run ${undefined_var}\n', [])).toBeUndefined();
  });
});

describe('the progress profile is checked', () => {
  const base = (progress: string) =>
    `apiVersion: keystone.io/v1\nkind: SimulationProfiles\nprofiles:\n  x:\n    template: x-template\n    input: file\n    command: ["x", "{input}"]\n    progress:\n${progress}`;
  it('rejects a pattern that is not a regular expression, or has no group', () => {
    expect(() => parseProfiles(base("      current: '^Time = (['\n"), 'p.yaml')).toThrow(
      /progress\.current: not a regular expression/,
    );
    expect(() => parseProfiles(base("      current: '^Time = \\S+'\n"), 'p.yaml')).toThrow(/needs a capture group/);
    expect(() =>
      parseProfiles(base("      current: '(x)'\n      total: {file: ../etc/passwd, pattern: '(x)'}\n"), 'p.yaml'),
    ).toThrow(/without "\.\."/);
    expect(() => parseProfiles(base("      current: '(x)'\n      speed: 3\n"), 'p.yaml')).toThrow(
      /unknown field "speed"/,
    );
  });
});

function stream(isTTY: boolean) {
  let text = '';
  const s = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  }) as Writable & { isTTY?: boolean };
  s.isTTY = isTTY;
  return { s, text: () => text };
}

describe('showing progress', () => {
  it('plain (off a terminal): one line per 10% with no cursor movement', async () => {
    const err = stream(false);
    const ui = new Ui({ stdout: stream(false).s, stderr: err.s }, { quiet: false, verbose: false, env: {} });
    const display = new ProgressDisplay(
      ui,
      new ProgressTracker(spec('openfoam'), { runId: 'r1', total: 0.5 }),
      'plain',
      'time',
    );
    for (const line of (await log('openfoam-cavity.log')).split('\n')) display.observe(undefined, line);
    const lines = err.text().trim().split('\n');
    expect(lines.map((l) => /(\d+)%/.exec(l)![1])).toEqual([
      '1',
      '10',
      '20',
      '30',
      '40',
      '50',
      '60',
      '70',
      '80',
      '90',
      '100',
    ]);
    expect(err.text()).not.toMatch(/\r|\u001b/);
  });

  it('json: every event as one JSON object per line', async () => {
    const err = stream(false);
    const ui = new Ui({ stdout: stream(false).s, stderr: err.s }, { quiet: true, verbose: false, env: {} });
    const display = new ProgressDisplay(
      ui,
      new ProgressTracker(spec('lammps'), { runId: 'r1', total: 250 }),
      'json',
      'step',
    );
    for (const line of (await log('lammps-in.lj.log')).split('\n')) display.observe('0', line);
    const events = err
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ProgressEvent);
    expect(events.map((e) => [e.event, e.runId, e.index, e.current, e.percent])).toEqual(
      [0, 50, 100, 150, 200, 250].map((s) => ['progress', 'r1', 0, s, (s / 250) * 100]),
    );
  });

  it('bar (a terminal): redrawn in place, taken off around other output and at the end', async () => {
    const err = stream(true);
    const ui = new Ui({ stdout: err.s, stderr: err.s }, { quiet: false, verbose: false, env: { FORCE_COLOR: '0' } });
    const display = new ProgressDisplay(
      ui,
      new ProgressTracker(spec('fenicsx'), { runId: 'r1', now: clock() }),
      'bar',
      undefined,
    );
    display.observe(undefined, 'progress 1/4');
    display.around(() => ui.data('solving (1089 dofs)'));
    display.observe(undefined, 'progress 2/4');
    display.end();
    const erase = '\r\u001b[2K';
    const out = err.text().replace(/\u001b\[[0-9;]*m/g, (m) => (m === '\u001b[2K' ? m : ''));
    expect(out).toBe(
      `${erase}[█████░░░░░░░░░░░░░░░]  25% 1/4${erase}solving (1089 dofs)\n${erase}[█████░░░░░░░░░░░░░░░]  25% 1/4${erase}[██████████░░░░░░░░░░]  50% 2/4 · ETA 2s${erase}`,
    );
  });
});
