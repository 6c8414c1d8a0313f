// jobs plot's series and pictures, from logs of real engine runs (test/fixtures/engine-logs).
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Chalk } from 'chalk';
import { chartOf, lammpsThermo, openfoamResiduals } from '../../src/plot/series.js';
import { niceTicks, renderPng, renderSvg } from '../../src/plot/svg-chart.js';
import { renderTerminal } from '../../src/plot/terminal-chart.js';
import { repoRoot } from '../helpers/harness.js';
import { svgSeries } from '../helpers/svg.js';

const log = (name: string) => readFile(join(repoRoot, 'test', 'fixtures', 'engine-logs', name), 'utf8');

const texts = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);

describe('series from real logs', () => {
  it('LAMMPS thermo: each column against Step', async () => {
    const { xLabel, series } = lammpsThermo(await log('lammps-in.lj.log'));
    expect(xLabel).toBe('Step');
    expect(series.map((s) => s.name)).toEqual(['Temp', 'E_pair', 'E_mol', 'TotEng', 'Press']);
    expect(series[0]!.points).toEqual([
      [0, 3],
      [50, 1.6842865],
      [100, 1.6712577],
      [150, 1.6444751],
      [200, 1.6471542],
      [250, 1.6645597],
    ]);
    expect(series[3]!.points.at(-1)).toEqual([250, -2.2812174]);
  });

  it('OpenFOAM: the first initial residual of each field per time step (zeros left out of a log axis)', async () => {
    const { xLabel, series } = openfoamResiduals(await log('openfoam-cavity.log'));
    expect(xLabel).toBe('Time');
    expect(series.map((s) => [s.name, s.points.length])).toEqual([
      ['Ux', 100],
      ['Uy', 99], // Uy's residual is 0 at the first step (the lid moves in x)
      ['p', 100],
    ]);
    // Time = 0.005: "Solving for p, Initial residual = 1" first, then 0.590864 (the PISO corrector).
    expect(series[2]!.points[0]).toEqual([0.005, 1]);
    expect(series[0]!.points.at(-1)![0]).toBe(0.5);
    expect(series.every((s) => s.points.every(([, r]) => r > 0 && r <= 1))).toBe(true);
  });

  it('a sweep: one line per index, the first column unless --series says', async () => {
    const logs = new Map<number | undefined, string>([
      [0, await log('lammps-in.lj.log')],
      [1, await log('lammps-in.lj-T2.0-steps1000.log')],
    ]);
    const chart = chartOf('lammps-thermo', logs, { title: 't' });
    expect(chart.series.map((s) => [s.name, s.points.length])).toEqual([
      ['[0] Temp', 6],
      ['[1] Temp', 21],
    ]);
    expect(chart.yLabel).toBe('thermo value: Temp');
    const two = chartOf('lammps-thermo', logs, { title: 't', only: ['Temp', 'Press'] });
    expect(two.series.map((s) => s.name)).toEqual(['[0] Temp', '[0] Press', '[1] Temp', '[1] Press']);
  });
});

describe('pictures', () => {
  it('SVG: one polyline per series with its points, axis labels, log decades for residuals', async () => {
    const chart = chartOf('openfoam-residuals', new Map([[undefined, await log('openfoam-cavity.log')]]), {
      title: 'openfoam run x',
    });
    const svg = renderSvg(chart);
    expect(svgSeries(svg).map((s) => [s.name, s.points, s.coords.length])).toEqual([
      ['Ux', 100, 100],
      ['Uy', 99, 99],
      ['p', 100, 100],
    ]);
    expect(texts(svg, 'xlabel')).toEqual(['Time']);
    expect(texts(svg, 'ylabel')).toEqual(['initial residual (log)']);
    expect(texts(svg, 'title')).toEqual(['openfoam run x']);
    expect(texts(svg, 'legend')).toEqual(['Ux', 'Uy', 'p']);
    const yt = texts(svg, 'ytick');
    expect(yt.at(-1)).toBe('1e0');
    expect(yt.every((t) => /^1e-?\d+$/.test(t!))).toBe(true);
    expect(texts(svg, 'xtick')).toEqual(['0', '0.1', '0.2', '0.3', '0.4', '0.5']);
    // The first p point (residual 1 = the top decade) is drawn at the top of the plot area.
    expect(svgSeries(svg)[2]!.coords[0]![1]).toBe(40);
  });

  it('SVG of LAMMPS thermo: points placed by value (higher Temp drawn higher)', async () => {
    const svg = renderSvg(
      chartOf('lammps-thermo', new Map([[undefined, await log('lammps-in.lj.log')]]), {
        title: 'lammps',
        only: ['Temp'],
      }),
    );
    const [temp] = svgSeries(svg);
    expect(temp!.points).toBe(6);
    const ys = temp!.coords.map((c) => c[1]);
    expect(ys[0]).toBeLessThan(Math.min(...ys.slice(1))); // T=3 at step 0 is the highest point
    expect(temp!.coords.map((c) => c[0])).toEqual([...temp!.coords.map((c) => c[0])].sort((a, b) => a - b));
  });

  it("PNG through resvg: a real PNG of the chart's size, not blank", async () => {
    const svg = renderSvg(
      chartOf('lammps-thermo', new Map([[undefined, await log('lammps-in.lj-T2.0-steps1000.log')]]), {
        title: 'lammps',
      }),
    );
    const png = await renderPng(svg);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1600); // IHDR width: fitted to 1600 px
    expect(png.readUInt32BE(20)).toBe(960);
    expect(png.length).toBeGreaterThan(20_000); // lines and text, not an empty white page
  });

  it("terminal chart: every series' mark, the y range and the legend", async () => {
    const chart = chartOf('openfoam-residuals', new Map([[undefined, await log('openfoam-cavity.log')]]), {
      title: 'cavity',
    });
    const text = renderTerminal(chart, new Chalk({ level: 0 }));
    const lines = text.split('\n');
    expect(lines[0]).toBe('cavity  (initial residual, log against Time)');
    expect(lines).toHaveLength(1 + 15 + 2 + 1);
    expect(lines.at(-1)).toBe('* Ux   o Uy   + p');
    expect(lines[1]).toMatch(/^\s+1e0 \|/);
    for (const mark of ['*', 'o', '+'])
      expect(
        lines.slice(1, 16).some((l) => l.slice(11).includes(mark)),
        mark,
      ).toBe(true);
  });

  it('ticks at 1, 2 or 5 times a power of ten covering the data', () => {
    expect(niceTicks(0, 250)).toEqual([0, 50, 100, 150, 200, 250]);
    expect(niceTicks(-6.77, 5.88)).toEqual([-10, -5, 0, 5, 10]);
    expect(niceTicks(3, 3)).toEqual([1.5, 2, 2.5, 3, 3.5, 4, 4.5]); // a constant series: ±half its size
  });
});
