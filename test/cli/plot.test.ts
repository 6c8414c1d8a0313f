// keystone jobs plot over the fake API server: the pods' logs replay logs of real engine runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, repoRoot, type Harness } from '../helpers/harness.js';
import { svgSeries } from '../helpers/svg.js';

let h: Harness;
beforeAll(async () => {
  h = await createReadyHarness();
}, 120_000);
afterAll(async () => h?.cleanup());

const realLog = async (name: string) =>
  (await readFile(join(repoRoot, 'test', 'fixtures', 'engine-logs', name), 'utf8')).trimEnd().split('\n');
const texts = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);

async function runWith(
  args: string[],
  program: (pod: any, index: number | undefined) => { lines: string[]; exitCode: number },
): Promise<string> {
  h.cluster.program = program;
  const r = await h.run(['run-simulation', ...args, '--progress', 'none']);
  expect(r.exitCode, r.stderr).toBe(0);
  return /Submitted run (\S+)/.exec(r.stderr)![1]!;
}

describe('jobs plot', () => {
  it('LAMMPS: thermo columns against Step as SVG and PNG, and a chart in the terminal', async () => {
    const lines = await realLog('lammps-in.lj-T2.0-steps1000.log');
    const id = await runWith(['lammps', 'in.lj', '--', '-var', 'T', '2.0', '-var', 'steps', '1000'], () => ({
      lines,
      exitCode: 0,
    }));
    const svgFile = join(h.project, 'thermo.svg');
    const r = await h.run(['jobs', 'plot', id, '--out', svgFile]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('(5 series, 105 points: Temp, E_pair, E_mol, TotEng, Press)');
    const svg = await readFile(svgFile, 'utf8');
    expect(svgSeries(svg).map((s) => [s.name, s.points])).toEqual(
      ['Temp', 'E_pair', 'E_mol', 'TotEng', 'Press'].map((n) => [n, 21]),
    );
    expect(texts(svg, 'xlabel')).toEqual(['Step']);
    expect(texts(svg, 'title')).toEqual([`lammps run ${id}`]);

    const pngFile = join(h.project, 'thermo.png');
    const p = await h.run(['jobs', 'plot', id, '--out', pngFile, '--series', 'Temp,TotEng']);
    expect(p.exitCode, p.stderr).toBe(0);
    const png = await readFile(pngFile);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(p.stderr).toContain('(2 series, 42 points: Temp, TotEng)');
    if (process.env.KEYSTONE_UPDATE_DOC_PICTURES) {
      await mkdir(join(repoRoot, 'docs', 'images'), { recursive: true });
      await copyFile(pngFile, join(repoRoot, 'docs', 'images', 'jobs-plot-lammps.png'));
    }

    const t = await h.run(['jobs', 'plot', id, '--series', 'Temp']);
    expect(t.exitCode, t.stderr).toBe(0);
    expect(t.stdout.split('\n')[0]).toBe(`lammps run ${id}  (thermo value against Step)`);
    expect(t.stdout).toContain('* Temp');
    expect(t.stdout).toMatch(/0\s+1000\s+Step/);
  });

  it('OpenFOAM: initial residual per field against time, log scale', async () => {
    const lines = await realLog('openfoam-cavity.log');
    const id = await runWith(['openfoam', 'cavity'], () => ({ lines, exitCode: 0 }));
    const file = join(h.project, 'residuals.svg');
    const r = await h.run(['jobs', 'plot', id, '--out', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    const svg = await readFile(file, 'utf8');
    expect(svgSeries(svg).map((s) => [s.name, s.points])).toEqual([
      ['Ux', 100],
      ['Uy', 99],
      ['p', 100],
    ]);
    expect(texts(svg, 'ylabel')).toEqual(['initial residual (log)']);
  });

  it('a sweep: one line per index on the same axes', async () => {
    const logs = [await realLog('lammps-in.lj.log'), await realLog('lammps-in.lj-T2.0-steps1000.log')];
    const id = await runWith(['lammps', 'in.lj', '--sweep', 'X=a,b'], (_pod, index) => ({
      lines: logs[index!]!,
      exitCode: 0,
    }));
    const file = join(h.project, 'sweep.svg');
    const r = await h.run(['jobs', 'plot', id, '--out', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(svgSeries(await readFile(file, 'utf8')).map((s) => [s.name, s.points])).toEqual([
      ['[0] Temp', 6],
      ['[1] Temp', 21],
    ]);
  });

  it('refuses a picture that is not .svg or .png (exit 2), and says when a tool has nothing to plot', async () => {
    const bad = await h.run(['jobs', 'plot', '20261125-214700-a3f9', '--out', 'x.jpg']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--out x.jpg: the picture must be a .svg or .png file');
    const lines = await realLog('fenicsx-poisson.log');
    const id = await runWith(['fenicsx', 'poisson.py'], () => ({ lines, exitCode: 0 }));
    const r = await h.run(['jobs', 'plot', id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('runs of fenicsx have nothing to plot');
  });
});
