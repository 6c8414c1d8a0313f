/**
 * A run's progress from its own output, as its profile says how to read it (profiles.yaml,
 * `progress`): a pattern that finds the current value in an output line (OpenFOAM `Time = t`,
 * a LAMMPS thermo step, a FEniCSx `progress k/n` line) and where the total comes from (the
 * line itself, or a value read from the staged input such as `endTime` in system/controlDict).
 * This module knows no code by name: a fourth code needs only a profile.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const regex = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    try {
      new RegExp(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(err as Error).message}` });
    }
  });

export const progressSchema = z.strictObject({
  /** Group 1: the current value; group 2, when present: the total. */
  current: regex.refine((r) => /\((?!\?)/.test(r), 'needs a capture group for the current value'),
  /** What the current value counts, shown in the progress line ("step", "time"). */
  unit: z.string().max(20).optional(),
  /** Where the total is read when the line does not carry it. */
  total: z
    .strictObject({
      /** A file inside a directory input; omitted: the input file itself. */
      file: z
        .string()
        .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'a relative path inside the input, without ".."')
        .optional(),
      /** Group 1: the total (its last match in the file counts, as a later setting wins). */
      pattern: regex,
      /** "${name}" in the value is replaced by the input's own definition or an extra argument. */
      variables: z
        .strictObject({
          /** Group 1: the name, group 2: the value. */
          define: regex,
          /** Extra arguments "OPTION NAME VALUE" that override a definition (e.g. lmp's -var). */
          options: z.array(z.string().min(1)).default([]),
        })
        .optional(),
    })
    .optional(),
});

export type ProgressProfile = z.infer<typeof progressSchema>;

/** The total of a run from its staged input, or undefined when it cannot be known. */
export async function readTotal(
  spec: ProgressProfile,
  input: { path: string; kind: 'file' | 'directory' },
  extraArgs: readonly string[],
): Promise<number | undefined> {
  if (!spec.total) return undefined;
  const file =
    input.kind === 'directory' ? (spec.total.file ? join(input.path, spec.total.file) : undefined) : input.path;
  if (!file) return undefined;
  let text: string;
  try {
    if (!(await stat(file)).isFile()) return undefined;
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return totalFromText(spec, text, extraArgs);
}

/** The total from the text of the file it is read from (exported for tests). */
export function totalFromText(spec: ProgressProfile, text: string, extraArgs: readonly string[]): number | undefined {
  if (!spec.total) return undefined;
  const pattern = new RegExp(spec.total.pattern, 'gm');
  let value: string | undefined;
  for (const m of text.matchAll(pattern)) value = m[1];
  if (value === undefined) return undefined;
  const vars = spec.total.variables;
  if (vars) {
    const defined = new Map<string, string>();
    // The first definition of an index-style variable wins in LAMMPS; so does a command-line one.
    for (const m of text.matchAll(new RegExp(vars.define, 'gm')))
      if (m[1] && m[2] !== undefined && !defined.has(m[1])) defined.set(m[1], m[2]);
    for (let i = 0; i + 2 < extraArgs.length; i++)
      if (vars.options.includes(extraArgs[i]!)) defined.set(extraArgs[i + 1]!, extraArgs[i + 2]!);
    value = value.replace(
      /\$\{(\w+)\}|\$(\w)/g,
      (whole, long: string | undefined, short: string | undefined) => defined.get((long ?? short)!) ?? whole,
    );
  }
  const total = Number(value);
  return Number.isFinite(total) && total > 0 ? total : undefined;
}

export interface ProgressEvent {
  event: 'progress';
  runId: string;
  /** The sweep index the line came from (absent for a single run). */
  index?: number;
  current: number;
  total?: number;
  /** This run's (or index's) percent done, when the total is known. */
  percent?: number;
  /** The whole run's percent done (a sweep: the mean over its indexes). */
  overallPercent?: number;
  /** Seconds left at the rate seen so far, when it can be estimated. */
  etaSeconds?: number;
  /** Seconds since the first progress line. */
  elapsedSeconds: number;
}

/**
 * Follows the lines of one run (or the indexes of a sweep) and turns matching lines into events.
 * Time is injected so tests drive it.
 */
export class ProgressTracker {
  private readonly current: RegExp;
  private readonly perIndex = new Map<number, { current: number; total?: number }>();
  private start: { at: number; fraction: number } | undefined;

  constructor(
    spec: ProgressProfile,
    private readonly o: { runId: string; total?: number; indexes?: number; now?: () => number },
  ) {
    this.current = new RegExp(spec.current);
  }

  /** The event for a line, or undefined when the line says nothing new about progress. */
  observe(prefix: string | undefined, line: string): ProgressEvent | undefined {
    const m = this.current.exec(line);
    if (!m || m[1] === undefined) return undefined;
    const current = Number(m[1]);
    if (!Number.isFinite(current)) return undefined;
    const lineTotal = m[2] !== undefined ? Number(m[2]) : undefined;
    const total = lineTotal !== undefined && Number.isFinite(lineTotal) && lineTotal > 0 ? lineTotal : this.o.total;
    const index = prefix !== undefined && /^\d+$/.test(prefix) ? Number(prefix) : undefined;
    const key = index ?? 0;
    const previous = this.perIndex.get(key);
    if (previous && previous.current === current && previous.total === total) return undefined;
    this.perIndex.set(key, { current, total });

    const now = (this.o.now ?? Date.now)();
    const fraction = (c: number, t: number | undefined) =>
      t === undefined ? undefined : Math.min(1, Math.max(0, c / t));
    const own = fraction(current, total);
    const overall = this.overall(fraction);
    if (!this.start && overall !== undefined) this.start = { at: now, fraction: overall };
    const elapsed = this.start ? (now - this.start.at) / 1000 : 0;
    let eta: number | undefined;
    if (overall !== undefined && this.start && overall > this.start.fraction && elapsed >= 1) {
      eta = overall >= 1 ? 0 : ((1 - overall) * elapsed) / (overall - this.start.fraction);
    }
    return {
      event: 'progress',
      runId: this.o.runId,
      ...(index !== undefined ? { index } : {}),
      current,
      ...(total !== undefined ? { total } : {}),
      ...(own !== undefined ? { percent: round1(own * 100) } : {}),
      ...(overall !== undefined ? { overallPercent: round1(overall * 100) } : {}),
      ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
      elapsedSeconds: Math.round(elapsed),
    };
  }

  /** Mean fraction over the run's indexes (an index not seen yet counts as 0). */
  private overall(fraction: (c: number, t: number | undefined) => number | undefined): number | undefined {
    const count = Math.max(this.o.indexes ?? 1, this.perIndex.size);
    let sum = 0;
    for (const { current, total } of this.perIndex.values()) {
      const f = fraction(current, total);
      if (f === undefined) return undefined;
      sum += f;
    }
    return sum / count;
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** "[████████░░░░░░░░]  52% step 130/250 · ETA 1m05s" (sweeps: the overall percent). */
export function progressLine(e: ProgressEvent, unit: string | undefined, width = 20): string {
  const percent = e.overallPercent ?? e.percent;
  const what = `${unit ? `${unit} ` : ''}${formatNumber(e.current)}${e.total !== undefined ? `/${formatNumber(e.total)}` : ''}${e.index !== undefined ? ` [${e.index}]` : ''}`;
  if (percent === undefined) return what;
  const filled = Math.round((percent / 100) * width);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
  const eta = e.etaSeconds !== undefined ? ` · ETA ${formatSeconds(e.etaSeconds)}` : '';
  return `${bar} ${String(Math.floor(percent)).padStart(3)}% ${what}${eta}`;
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
