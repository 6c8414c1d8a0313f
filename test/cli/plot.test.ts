// keystone jobs plot over the fake API server: the pods' logs replay logs of real engine runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
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

  it('--out onto a file already there: the same picture is left unchanged; another is refused naming it (exit 1, the file kept) unless --force; a symlink is refused; under data/, a symlink leading out of data/ is refused (issue 22 #4, #5)', async () => {
    const lines = await realLog('lammps-in.lj-T2.0-steps1000.log');
    const id = await runWith(['lammps', 'in.lj'], () => ({ lines, exitCode: 0 }));
    const plot = (...args: string[]) => h.run(['jobs', 'plot', id, ...args]);
    for (const name of ['again.svg', 'again.png']) {
      const first = await plot('--out', name);
      expect(first.exitCode, first.stderr).toBe(0);
      expect(first.stderr).toContain(`Wrote ${name} (5 series, 105 points`);
      const made = await readFile(join(h.project, name));
      // The same picture again (PNG too: resvg renders the same SVG to the same bytes).
      const same = await plot('--out', name);
      expect(same.exitCode, same.stderr).toBe(0);
      expect(same.stderr).toContain(`${name} is unchanged (5 series, 105 points`);
      // Another picture: refused, named, nothing written.
      const other = await plot('--out', name, '--series', 'Temp');
      expect(other.exitCode).toBe(1);
      expect(other.stderr).toContain(`error: --out ${name} already exists with other content; nothing was written`);
      expect(other.stderr).toContain('hint: pass --force to replace it, or choose another --out');
      expect((await readFile(join(h.project, name))).equals(made)).toBe(true);
      const forced = await plot('--out', name, '--series', 'Temp', '--force');
      expect(forced.exitCode, forced.stderr).toBe(0);
      expect(forced.stderr).toContain(`Replaced ${name} (1 series, 21 points: Temp)`);
      expect((await readFile(join(h.project, name))).equals(made)).toBe(false);
    }
    expect(svgSeries(await readFile(join(h.project, 'again.svg'), 'utf8')).map((s) => s.name)).toEqual(['Temp']);
    // A file the user made is theirs as much as an earlier plot.
    await writeFile(join(h.project, 'notes.svg'), '<svg>my own</svg>\n');
    expect((await plot('--out', 'notes.svg')).exitCode).toBe(1);
    expect(await readFile(join(h.project, 'notes.svg'), 'utf8')).toBe('<svg>my own</svg>\n');

    const noOut = await plot('--force');
    expect(noOut.exitCode).toBe(2);
    expect(noOut.stderr).toContain('error: --force replaces an --out file; without --out nothing is written');
    await symlink(join(h.project, 'notes.svg'), join(h.project, 'link.svg'));
    const link = await plot('--out', 'link.svg', '--force');
    expect(link.exitCode).toBe(2);
    expect(link.stderr).toContain('error: --out link.svg is a symlink (to ');
    expect(await readFile(join(h.project, 'notes.svg'), 'utf8')).toBe('<svg>my own</svg>\n');

    // Under data/, the picture is written through the guarded data directory like everything there.
    const outside = join(h.root, 'outside-plots');
    await mkdir(outside);
    await symlink(outside, join(h.project, 'data', 'plots'));
    try {
      const out = await plot('--out', 'data/plots/thermo.svg');
      expect(out.exitCode).toBe(1);
      expect(out.stderr).toContain(
        `error: data/plots/thermo.svg is outside data (data/plots leads to ${await realpath(outside)})`,
      );
      expect(await readdir(outside)).toEqual([]);
      const inside = await plot('--out', 'data/thermo.svg');
      expect(inside.exitCode, inside.stderr).toBe(0);
      expect(inside.stderr).toContain('Wrote data/thermo.svg (5 series');
    } finally {
      await rm(join(h.project, 'data', 'plots'));
      await rm(join(h.project, 'data', 'thermo.svg'), { force: true });
    }
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
