import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandCommand, parseProfiles, runCommand } from '../../src/runs/request/profiles.js';
import { envFile, parseCpus, parseEnv, parseMemory, parseSweeps } from '../../src/runs/request/options.js';
import { newRunId } from '../../src/runs/model.js';
import { buildJobFromTemplate } from '../../src/runs/build/job.js';
import { repoRoot } from '../helpers/harness.js';
import type { JobObject } from '../../src/kube/objects.js';

const shipped = readFileSync(join(repoRoot, 'k8s', 'simulations', 'profiles.yaml'), 'utf8');

describe('profiles', () => {
  it('the shipped file is valid and covers the three codes', () => {
    const profiles = parseProfiles(shipped, 'profiles.yaml');
    expect(Object.keys(profiles)).toEqual(['fenicsx', 'lammps', 'openfoam']);
    expect(profiles.openfoam!.input).toBe('directory');
  });

  it('a fourth code is data only', () => {
    const text = `${shipped}  gromacs:\n    template: gromacs-template\n    input: file\n    command: ["gmx", "mdrun", "-s", "{input}"]\n`;
    expect(parseProfiles(text, 'p.yaml').gromacs!.command).toEqual(['gmx', 'mdrun', '-s', '{input}']);
  });

  it('rejects profiles that cannot work, pointing at the line', () => {
    const bad = (replacement: string) =>
      shipped.replace('    input: file\n    command: ["lmp", "-in", "{input}", "{args}"]', replacement);
    expect(() => parseProfiles(bad('    input: file\n    command: ["lmp", "-in", "x{args}"]'), 'p.yaml')).toThrow(
      /p\.yaml:\d+:\d+: profiles\.lammps\.command/,
    );
    expect(() => parseProfiles(bad('    input: folder\n    command: ["lmp", "-in", "{input}"]'), 'p.yaml')).toThrow(
      /profiles\.lammps\.input/,
    );
    expect(() => parseProfiles(bad('    input: file\n    command: ["lmp", "{input}", "{output}"]'), 'p.yaml')).toThrow(
      /unknown placeholder/,
    );
    expect(() =>
      parseProfiles(bad('    input: file\n    shell: true\n    command: ["lmp", "{input}"]'), 'p.yaml'),
    ).toThrow(/unknown field "shell"/);
  });

  it('a parallel command must use {ranks}; {ranks} is unknown in the serial command', () => {
    const lammps = '      command: ["mpirun", "-np", "{ranks}", "lmp", "-in", "{input}", "{args}"]';
    expect(shipped).toContain(lammps);
    expect(() =>
      parseProfiles(
        shipped.replace(lammps, '      command: ["mpirun", "-np", "2", "lmp", "-in", "{input}"]'),
        'p.yaml',
      ),
    ).toThrow(/profiles\.lammps\.parallel\.command: must use "\{ranks\}" somewhere/);
    expect(() =>
      parseProfiles(
        shipped.replace(lammps, '      command: ["mpirun", "-np", "{rank}", "lmp", "-in", "{input}"]'),
        'p.yaml',
      ),
    ).toThrow(/unknown placeholder \{rank\}/);
    expect(() =>
      parseProfiles(
        shipped.replace(
          'command: ["lmp", "-in", "{input}", "{args}"]',
          'command: ["lmp", "-np", "{ranks}", "-in", "{input}"]',
        ),
        'p.yaml',
      ),
    ).toThrow(/profiles\.lammps\.command\.2: unknown placeholder \{ranks\}/);
    expect(() =>
      parseProfiles(shipped.replace('OMPI_MCA_rmaps_base_oversubscribe: "1"', '"OMPI MCA": "1"'), 'p.yaml'),
    ).toThrow(/must be a variable name/);
  });

  it("mpiImplementation Intel is refused with the reason: keystone-mpi replaces the entrypoint the operator's Intel images need (mpi-operator v0.8.0 build/base/entrypoint.sh, examples/v2beta1/pi/pi-intel.yaml)", () => {
    expect(() =>
      parseProfiles(shipped.replace('mpiImplementation: MPICH', 'mpiImplementation: Intel'), 'p.yaml'),
    ).toThrow(
      /p\.yaml:\d+:\d+: profiles\.fenicsx\.parallel\.mpiImplementation: Intel is not supported by keystone: the MPI Operator's Intel images set up Intel MPI in their entrypoint \(it sources \/opt\/intel\/oneapi\/setvars\.sh\), and keystone replaces the container command with keystone-mpi/,
    );
    expect(() => parseProfiles(shipped, 'p.yaml')).not.toThrow();
  });

  it('runCommand: N ranks use the parallel argv and env; 1 rank the serial one', () => {
    const lammps = parseProfiles(shipped, 'p.yaml').lammps!;
    expect(runCommand(lammps, 'in.lj', ['-var', 'T', '2'], 4)).toEqual({
      command: ['mpirun', '-np', '4', 'lmp', '-in', 'in.lj', '-var', 'T', '2'],
      env: [
        ['OMPI_MCA_rmaps_base_oversubscribe', '1'],
        ['OMPI_MCA_btl_vader_single_copy_mechanism', 'none'],
      ],
    });
    expect(runCommand(lammps, 'in.lj', [], 1)).toEqual({ command: ['lmp', '-in', 'in.lj'], env: [] });
  });

  it('expands {input} and {args} into separate argv elements', () => {
    expect(expandCommand(['lmp', '-in', '{input}', '{args}'], 'in; rm -rf /', ['-var', 'T 2'])).toEqual([
      'lmp',
      '-in',
      'in; rm -rf /',
      '-var',
      'T 2',
    ]);
    expect(expandCommand(['run', 'case={input}'], 'c', [])).toEqual(['run', 'case=c']);
  });
});

describe('run options', () => {
  it('bounds cpus and memory', () => {
    expect(parseCpus('2')).toBe('2000m');
    expect(parseCpus('0.5')).toBe('500m');
    expect(parseCpus('250m')).toBe('250m');
    for (const bad of ['0.05', '17', '-1', '2 cores']) expect(() => parseCpus(bad)).toThrow(/--cpus/);
    expect(parseMemory('512Mi')).toBe('512Mi');
    for (const bad of ['32Mi', '65Gi', '1G', '4']) expect(() => parseMemory(bad)).toThrow(/--memory/);
  });

  it('parses env pairs and refuses bad names', () => {
    expect(parseEnv(['A=1', 'B=x=y', 'C='])).toEqual([
      ['A', '1'],
      ['B', 'x=y'],
      ['C', ''],
    ]);
    for (const bad of ['=1', '1A=2', 'A-B=3', 'NOEQUALS']) expect(() => parseEnv([bad])).toThrow(/--env/);
  });

  it('makes the cartesian product of sweeps, first flag slowest', () => {
    const sweep = parseSweeps(['A=1,2', 'B=x,y,z'])!;
    expect(sweep.combinations).toEqual([
      { A: '1', B: 'x' },
      { A: '1', B: 'y' },
      { A: '1', B: 'z' },
      { A: '2', B: 'x' },
      { A: '2', B: 'y' },
      { A: '2', B: 'z' },
    ]);
    expect(parseSweeps([])).toBeUndefined();
    expect(() => parseSweeps(['A=1,,2'])).toThrow(/empty value/);
    expect(() => parseSweeps(['A=1', 'A=2'])).toThrow(/twice/);
    expect(() =>
      parseSweeps([
        `A=${Array.from({ length: 17 }, (_, i) => i).join(',')}`,
        `B=${Array.from({ length: 16 }, (_, i) => i).join(',')}`,
      ]),
    ).toThrow(/272 combinations; at most 256/);
  });

  it('writes env files that a shell sources as plain values', () => {
    expect(envFile({ A: "it's $(x) `y` \\n" })).toBe("A='it'\\''s $(x) `y` \\n'\n");
  });

  it('makes sortable, name-safe run ids', () => {
    expect(newRunId(new Date('2026-11-25T21:47:03.123Z'), 'a3f9')).toBe('20261125-214703-a3f9');
  });
});

describe('buildJobFromTemplate', () => {
  const template: JobObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'lammps-template', namespace: 'keystone', uid: 'u1', resourceVersion: '9' },
    spec: {
      suspend: true,
      backoffLimit: 0,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } },
      template: {
        metadata: {
          labels: {
            'keystone.io/simulation': 'lammps',
            'batch.kubernetes.io/controller-uid': 'u1',
            'job-name': 'lammps-template',
          },
        },
        spec: { containers: [{ name: 'simulation', image: 'keystone/lammps:0.1.0', command: ['true'], args: ['x'] }] },
      },
    },
  };
  const base = {
    tool: 'lammps',
    runId: '20261125-214703-a3f9',
    name: 'lammps-20261125-214703-a3f9',
    command: ['lmp', '-in', 'in.lj'],
    workingDir: '/data/lammps/runs/x',
    inputName: 'in.lj',
    outputDir: '/p/data/lammps/runs/x',
    retries: 0,
    env: [] as [string, string][],
  };

  it('unsuspends a copy, drops what the API server generated, and labels it', () => {
    const job = buildJobFromTemplate(template, base);
    expect(job.spec.suspend).toBe(false);
    expect(job.spec.selector).toBeUndefined();
    expect(job.spec.template.metadata?.labels).toEqual({
      'keystone.io/simulation': 'lammps',
      'keystone.io/run-id': base.runId,
    });
    expect(job.metadata?.labels).toMatchObject({ 'keystone.io/run-id': base.runId });
    expect(job.metadata?.resourceVersion).toBeUndefined();
    const c = job.spec.template.spec.containers[0]!;
    expect(c.command).toEqual(['lmp', '-in', 'in.lj']);
    expect(c.args).toBeUndefined();
    expect(c.env).toEqual([{ name: 'KEYSTONE_RUN_ID', value: base.runId }]);
    expect(template.spec.suspend).toBe(true); // the template itself is untouched
  });

  it('makes an Indexed Job for a sweep with per-index retries', () => {
    const sweep = parseSweeps(['N=1,2,3'])!;
    const job = buildJobFromTemplate(template, { ...base, sweep, parallel: 2, retries: 1 });
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 3,
      parallelism: 2,
      backoffLimitPerIndex: 1,
    });
    expect(job.spec.backoffLimit).toBeUndefined();
  });
});
