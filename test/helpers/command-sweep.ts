// What the sweeps over every command (test/cli/sweep-*.test.ts) run: the list of commands is read
// from the command table in src/cli.ts, so a command added there is swept without being named
// here; a test fails until this file says how to invoke it (or why it is not swept), so none is
// missed by forgetting.
import { afterAll, beforeAll } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandTable } from '../../src/cli.js';
import type { RegisteredSpec } from '../../src/command-table.js';
import { repoRoot, runJobsOf, until, type Harness } from './harness.js';
import { createLabCluster, type LabCluster } from './lab-cluster.js';

/** Every command of the table, as the words that name it: "pods", "jobs logs". */
export function tableCommands(table: readonly RegisteredSpec[] = commandTable, prefix: string[] = []): string[] {
  return table.flatMap(({ spec }) => {
    const path = [...prefix, spec.name];
    return [path.join(' '), ...tableCommands(spec.subcommands ?? [], path)];
  });
}

export interface SweepContext extends LabCluster {
  /** A run that has finished (succeeded), made now. */
  finishedRun(tool?: 'lammps' | 'fenicsx' | 'openfoam', extra?: string[]): Promise<string>;
  /**
   * A finished run for commands that only read it (describe, jobs logs/show/plot/fetch/rerun):
   * made once per tool and options, then the same run each time, so a sweep that runs such a
   * command twenty times does not first make twenty runs.
   */
  readRun(tool?: 'lammps' | 'fenicsx' | 'openfoam', extra?: string[]): Promise<string>;
  /** A run that keeps running until it is cancelled, made now. */
  runningRun(): Promise<string>;
  /** A fresh empty directory outside data/. */
  freshDir(): Promise<string>;
}

export interface Invocation {
  /** The words after `keystone`; made fresh for each run (a run to cancel, a directory to fill). */
  args: (s: SweepContext) => Promise<string[]>;
  /** Why the interrupt sweep leaves it out (it never waits on anything), if it does. */
  momentary?: string;
}

const lammpsThermo = async () =>
  (await readFile(join(repoRoot, 'test', 'fixtures', 'engine-logs', 'lammps-in.lj.log'), 'utf8')).trimEnd().split('\n');

const id = (r: { stdout: string; stderr: string }) => /Submitted run (\S+)/.exec(r.stderr)?.[1] ?? r.stdout.trim();
const fixed =
  (...args: string[]) =>
  async () =>
    args;

/** How each command is invoked by the sweeps: one or more ways each, on a ready cluster and a "lab" context. */
export const invocations: Record<string, Invocation[]> = {
  setup: [{ args: fixed('setup') }],
  apply: [{ args: fixed('apply', '--wait') }],
  'import-images': [{ args: fixed('import-images', '--force') }],
  'push-images': [{ args: fixed('push-images') }],
  start: [{ args: fixed('start') }],
  stop: [{ args: fixed('stop', '--dry-run') }],
  delete: [{ args: fixed('delete', '--dry-run') }],
  status: [{ args: fixed('status') }, { args: fixed('status', '-o', 'json') }],
  pods: [{ args: fixed('pods') }, { args: fixed('pods', '-o', 'json') }],
  events: [{ args: fixed('events', '-o', 'json') }],
  describe: [{ args: fixed('describe', 'redis') }, { args: async (s) => ['describe', await s.readRun()] }],
  top: [{ args: fixed('top') }],
  logs: [{ args: fixed('logs', 'redis') }],
  shell: [{ args: fixed('shell', 'redis', '--', 'echo', 'hi') }],
  scale: [{ args: fixed('scale', 'celery-worker', '1') }],
  restart: [{ args: fixed('restart', 'celery-worker') }],
  rollback: [{ args: fixed('rollback', 'celery-worker', '--list') }, { args: fixed('rollback', 'celery-worker') }],
  'run-simulation': [
    { args: fixed('run-simulation', 'lammps', 'in.lj', '-d') },
    { args: fixed('run-simulation', 'fenicsx', 'poisson.py', '--progress', 'none') },
    { args: fixed('run-simulation', 'openfoam', 'cavity', '--sweep', 'N=1,2', '--progress', 'none') },
    { args: async (s) => ['run-simulation', 'lammps', 'in.lj', '-d', ...s.lab] },
  ],
  jobs: [{ args: fixed('jobs') }, { args: fixed('jobs', '-o', 'json') }, { args: fixed('jobs', '--orphans') }],
  'jobs logs': [{ args: async (s) => ['jobs', 'logs', await s.readRun()] }],
  'jobs show': [
    { args: async (s) => ['jobs', 'show', await s.readRun()] },
    { args: async (s) => ['jobs', 'show', await s.readRun(), '-o', 'json'] },
  ],
  'jobs rerun': [
    { args: async (s) => ['jobs', 'rerun', await s.readRun(), '--progress', 'none'] },
    { args: async (s) => ['jobs', 'rerun', await s.readRun(), '-d'] },
  ],
  'jobs cancel': [{ args: async (s) => ['jobs', 'cancel', await s.runningRun()] }],
  'jobs clean': [
    {
      args: async (s) => {
        await s.finishedRun('openfoam');
        return ['jobs', 'clean', '--tool', 'openfoam', '--purge-outputs'];
      },
    },
    {
      // A run directory without a run: a run cleaned without --purge-outputs.
      args: async (s) => {
        await s.finishedRun('openfoam');
        await s.h.run(['jobs', 'clean', '--tool', 'openfoam']);
        return ['jobs', 'clean', '--orphans', '--tool', 'openfoam'];
      },
    },
  ],
  'jobs fetch': [
    {
      args: async (s) => ['jobs', 'fetch', await s.readRun('lammps', s.lab), ...s.lab, '--to', await s.freshDir()],
    },
  ],
  'jobs plot': [{ args: async (s) => ['jobs', 'plot', await s.readRun('lammps')] }],
  doctor: [{ args: fixed('doctor') }],
  completion: [{ args: fixed('completion', 'bash'), momentary: 'it prints a script it holds, and talks to nothing' }],
};

/** A ready cluster with a "lab" context, metrics, and programs for the runs the invocations make. */
async function createSweepContext(): Promise<SweepContext> {
  const lab = await createLabCluster();
  const { h } = lab;
  const thermo = await lammpsThermo();
  const nodes = h.api.objects('nodes').map((n: { metadata: { name: string } }) => n.metadata.name);
  h.api.metrics = {
    nodes: Object.fromEntries(nodes.map((n: string) => [n, { cpu: '250m', memory: '512Mi' }])),
    pods: {},
  };
  let dirs = 0;
  // Runs finish at once with a LAMMPS log (so `jobs plot` has thermo to draw); `runningRun` makes one that does not.
  const finishing = () => ({ lines: thermo, exitCode: 0 });
  h.cluster.program = finishing;
  const read = new Map<string, Promise<string>>();
  const context: SweepContext = {
    ...lab,
    async finishedRun(tool = 'lammps', extra = []) {
      h.cluster.program = finishing;
      const input = { lammps: 'in.lj', fenicsx: 'poisson.py', openfoam: 'cavity' }[tool];
      const r = await h.run(['run-simulation', tool, input, '--progress', 'none', ...extra]);
      if (r.exitCode !== 0) throw new Error(`a finished run could not be made (exit ${r.exitCode}): ${r.stderr}`);
      return id(r);
    },
    readRun(tool = 'lammps', extra = []) {
      const key = [tool, ...extra].join(' ');
      if (!read.has(key)) read.set(key, context.finishedRun(tool, extra));
      return read.get(key)!;
    },
    async runningRun() {
      h.cluster.program = () => ({ lines: ['working'], exitCode: null });
      const r = await h.run(['run-simulation', 'lammps', 'in.lj', '-d']);
      h.cluster.program = finishing;
      if (r.exitCode !== 0) throw new Error(`a running run could not be made (exit ${r.exitCode}): ${r.stderr}`);
      const runId = id(r);
      await until(
        () => runJobsOf(h).some((j) => j.metadata.labels['keystone.io/run-id'] === runId && j.status?.active),
        'the run to be running',
      );
      return runId;
    },
    freshDir: () => mkdtemp(join(h.root, `fresh-${++dirs}-`)),
  };
  return context;
}

/**
 * A test file's sweep context: made once before its tests (a lab cluster with runs: the costly
 * part), cleaned up after them. Each test takes it with the returned function.
 */
export function sweepContextOfFile(): () => SweepContext {
  let context: SweepContext | undefined;
  beforeAll(async () => {
    context = await createSweepContext();
  }, 120_000);
  afterAll(async () => context?.h.cleanup());
  return () => {
    if (!context) throw new Error('the sweep context is made in beforeAll; take it inside a test');
    return context;
  };
}

export type { Harness };

/** A Node stack trace in a command's output: never shown without --verbose. */
export const stackTrace = /\n\s+at .+:\d+:\d+\)?|\bat (async )?\S+ \(node:/;
