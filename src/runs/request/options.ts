/** Checking run-simulation's options: bounds, names and sweeps, before anything touches the cluster. */
import { UsageError } from '../../errors.js';
import { printable } from '../../operate/names.js';

export const limits = {
  minMillicores: 100,
  maxMillicores: 16_000,
  minMemoryMi: 64,
  maxMemoryMi: 64 * 1024,
  maxRetries: 10,
  maxSweepRuns: 256,
} as const;

/** "2", "0.5" or "500m" → "500m"-style millicores within bounds. */
export function parseCpus(text: string): string {
  let millicores: number;
  if (/^\d+(\.\d+)?$/.test(text)) millicores = Math.round(Number(text) * 1000);
  else if (/^\d+m$/.test(text)) millicores = Number(text.slice(0, -1));
  else
    throw new UsageError(`--cpus "${printable(text)}" is not a CPU amount`, 'use cores (2, 0.5) or millicores (500m)');
  if (millicores < limits.minMillicores || millicores > limits.maxMillicores) {
    throw new UsageError(
      `--cpus ${text} is out of range`,
      `use from ${limits.minMillicores}m to ${limits.maxMillicores / 1000} cores`,
    );
  }
  return `${millicores}m`;
}

/** "512Mi", "4Gi" → a Kubernetes quantity within bounds. */
export function parseMemory(text: string): string {
  const m = /^(\d+)(Mi|Gi)$/.exec(text);
  if (!m)
    throw new UsageError(`--memory "${printable(text)}" is not a memory amount`, 'use Mi or Gi, e.g. 512Mi or 8Gi');
  const mi = Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  if (mi < limits.minMemoryMi || mi > limits.maxMemoryMi) {
    throw new UsageError(
      `--memory ${text} is out of range`,
      `use from ${limits.minMemoryMi}Mi to ${limits.maxMemoryMi / 1024}Gi`,
    );
  }
  return text;
}

/** --volume-size: a storage quantity in Mi, Gi or Ti (what a PersistentVolumeClaim requests). */
export function parseVolumeSize(text: string): string {
  const m = /^([1-9]\d{0,6})(Mi|Gi|Ti)$/.exec(text);
  if (!m || (m[2] === 'Mi' && Number(m[1]) < 64))
    throw new UsageError(
      `--volume-size "${printable(text)}" is not a volume size`,
      'use Mi, Gi or Ti, e.g. 10Gi or 1Ti (at least 64Mi)',
    );
  return text;
}

export function parseRetries(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > limits.maxRetries) {
    throw new UsageError(
      `--retries "${printable(text)}" must be a whole number from 0 to ${limits.maxRetries}`,
      'a failed simulation is not rerun unless you ask',
    );
  }
  return Number(text);
}

export function parseParallel(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > limits.maxSweepRuns) {
    throw new UsageError(
      `--parallel "${printable(text)}" must be a whole number from 1 to ${limits.maxSweepRuns}`,
      'it caps how many sweep runs go at once',
    );
  }
  return Number(text);
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseEnv(pairs: readonly string[]): [string, string][] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!envName.test(key))
      throw new UsageError(
        `--env "${printable(pair)}" is not KEY=VALUE with KEY a variable name`,
        'for example --env OMP_NUM_THREADS=4',
      );
    const value = pair.slice(eq + 1);
    if (value.includes('\u0000')) throw new UsageError(`--env ${key} contains a NUL byte`);
    return [key, value];
  });
}

const imageReference =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function parseImage(text: string): string {
  if (!imageReference.test(text))
    throw new UsageError(
      `--image "${printable(text)}" is not an image reference`,
      'for example --image keystone/lammps:0.2.0',
    );
  return text;
}

export interface Sweep {
  names: string[];
  /** One entry per run, in index order. */
  combinations: Record<string, string>[];
}

/** --sweep NAME=v1,v2 (repeatable): the cartesian product, first flag varying slowest. */
export function parseSweeps(flags: readonly string[]): Sweep | undefined {
  if (flags.length === 0) return undefined;
  const axes = flags.map((flag) => {
    const eq = flag.indexOf('=');
    const name = eq > 0 ? flag.slice(0, eq) : '';
    if (!envName.test(name))
      throw new UsageError(
        `--sweep "${printable(flag)}" is not NAME=v1,v2,...`,
        'for example --sweep TEMP=1.0,1.5,2.0',
      );
    const values = flag.slice(eq + 1).split(',');
    if (values.some((v) => v === ''))
      throw new UsageError(`--sweep ${name} has an empty value`, 'separate values with commas, no empty ones');
    if (values.some((v) => /[\u0000-\u001f]/.test(v)))
      throw new UsageError(`--sweep ${name} has a value with control characters`);
    // Each value is one run: a value given twice would run the same simulation twice.
    const twice = values.find((v, i) => values.indexOf(v) !== i);
    if (twice !== undefined)
      throw new UsageError(
        `--sweep ${name} gives the value "${printable(twice)}" twice (each value makes one run)`,
        'give each value once',
      );
    return { name, values };
  });
  const names = axes.map((a) => a.name);
  if (new Set(names).size !== names.length)
    throw new UsageError('--sweep names a variable twice', 'give each variable once with all its values');
  let combinations: Record<string, string>[] = [{}];
  for (const axis of axes)
    combinations = combinations.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.name]: v })));
  if (combinations.length > limits.maxSweepRuns) {
    throw new UsageError(
      `the sweep has ${combinations.length} combinations; at most ${limits.maxSweepRuns}`,
      'split it into several runs',
    );
  }
  return { names, combinations };
}

/** A POSIX sh file of NAME='value' lines: values are single-quoted, so sourcing it never runs them. */
export function envFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}

/** --progress MODE (how follow/display.ts shows a followed run's progress). */
export const progressModes = ['auto', 'bar', 'plain', 'json', 'none'] as const;
export type ProgressMode = (typeof progressModes)[number];

export function parseProgressMode(text: string | undefined): ProgressMode {
  if (text === undefined) return 'auto';
  if ((progressModes as readonly string[]).includes(text)) return text as ProgressMode;
  throw new UsageError(
    `--progress "${printable(text)}" is not a progress mode`,
    `use one of ${progressModes.join(', ')}`,
  );
}
