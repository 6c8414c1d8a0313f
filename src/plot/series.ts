/**
 * The series a run's log holds, for `keystone jobs plot`. Which reader applies is data in the
 * tool's profile (`plot.series`); the readers know the two log formats:
 *   lammps-thermo       the thermo table (a "Step ..." header, then rows of numbers): each
 *                       column against Step (LAMMPS docs, thermo_style: the one style prints its
 *                       keywords as a header line and one row per output step)
 *   openfoam-residuals  "Solving for F, Initial residual = r" lines after "Time = t": the first
 *                       initial residual of each field per time step (a PISO corrector solves p
 *                       again; the first solve shows the step's starting residual), log scale
 */
export const seriesReaders = ['lammps-thermo', 'openfoam-residuals'] as const;
export type SeriesReader = (typeof seriesReaders)[number];

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  logY: boolean;
  series: Series[];
}

const numberToken = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export function lammpsThermo(text: string): { xLabel: string; series: Series[] } {
  const byName = new Map<string, Series>();
  let header: string[] | undefined;
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === 'Step' && fields.length > 1) {
      header = fields;
      continue;
    }
    if (!header) continue;
    if (fields.length !== header.length || !fields.every((f) => numberToken.test(f))) {
      // The table ends at the first other line ("Loop time of ..."); a later run prints a new header.
      if (!/^\s*$/.test(raw) && !raw.startsWith('WARNING')) header = undefined;
      continue;
    }
    const step = Number(fields[0]);
    header.slice(1).forEach((name, i) => {
      const s = byName.get(name) ?? { name, points: [] };
      byName.set(name, s);
      s.points.push([step, Number(fields[i + 1])]);
    });
  }
  return { xLabel: 'Step', series: [...byName.values()] };
}

export function openfoamResiduals(text: string): { xLabel: string; series: Series[] } {
  const byName = new Map<string, Series>();
  let time: number | undefined;
  let seen = new Set<string>();
  for (const line of text.split('\n')) {
    const t = /^Time = ([-+0-9.eE]+)\s*$/.exec(line);
    if (t) {
      time = Number(t[1]);
      seen = new Set();
      continue;
    }
    const m = /Solving for (\w+), Initial residual = ([-+0-9.eE]+)/.exec(line);
    if (!m || time === undefined || seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    const r = Number(m[2]);
    const s = byName.get(m[1]!) ?? { name: m[1]!, points: [] };
    byName.set(m[1]!, s);
    // A residual of 0 (a field at rest, e.g. Uy at the first step) has no place on a log axis.
    if (r > 0) s.points.push([time, r]);
  }
  return { xLabel: 'Time', series: [...byName.values()] };
}

/** The names of the series the logs hold (every index of a sweep), in the order they first appear. */
export function seriesNames(reader: SeriesReader, logs: Map<number | undefined, string>): string[] {
  const read = reader === 'lammps-thermo' ? lammpsThermo : openfoamResiduals;
  return [...new Set([...logs.values()].flatMap((text) => read(text).series.map((s) => s.name)))];
}

/** The chart of a run: one log, or one log per sweep index (then one line per index). */
export function chartOf(
  reader: SeriesReader,
  logs: Map<number | undefined, string>,
  o: { title: string; only?: string[] },
): Chart {
  const read = reader === 'lammps-thermo' ? lammpsThermo : openfoamResiduals;
  const yLabel = reader === 'lammps-thermo' ? 'thermo value' : 'initial residual';
  const logY = reader === 'openfoam-residuals';
  const sweep = logs.size > 1 || [...logs.keys()].some((k) => k !== undefined);
  let xLabel = reader === 'lammps-thermo' ? 'Step' : 'Time';
  const series: Series[] = [];
  for (const [index, text] of [...logs.entries()].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))) {
    const parsed = read(text);
    xLabel = parsed.xLabel;
    let picked = o.only?.length ? parsed.series.filter((s) => o.only!.includes(s.name)) : parsed.series;
    // A sweep compares its indexes: one quantity (the first, unless --series says), one line each.
    if (sweep && !o.only?.length) picked = picked.slice(0, 1);
    for (const s of picked) series.push({ name: sweep ? `[${index}] ${s.name}` : s.name, points: s.points });
  }
  return {
    title: o.title,
    xLabel,
    yLabel: sweep && series.length ? `${yLabel}: ${series[0]!.name.replace(/^\[\d+\] /, '')}` : yLabel,
    logY,
    series,
  };
}
