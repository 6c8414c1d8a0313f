// The checks of each profile's real run, shared by `npm run test:engines` (the engine installed on
// this machine) and `npm run test:containers` (the project's image under a real Docker daemon):
// the same runs, the same expected outputs, only where the pod's command runs differs.
import { existsSync, statSync } from 'node:fs';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { lastLine, thermoAt, fieldValues, type EngineRun, type RunIdentity, type RunRequest } from './engine-run.js';

export type RunJob = (req: RunRequest) => Promise<EngineRun & { cleanup: () => Promise<void> }>;

export interface FenicsxSetting {
  /** Set on top of the image's ENV (the DOLFINx 0.9 API shim on an older DOLFINx). */
  extraEnv?: Record<string, string>;
  /** What the test names say about the DOLFINx that runs. */
  label: string;
}

/** Per tool, the tests (it(...) calls) of its runs; `who` is the uid the pods run as. */
export function engineChecks(
  runJob: RunJob,
  who: RunIdentity,
  fenicsx: FenicsxSetting = { label: 'of the image' },
): Record<string, () => void> {
  function expectOwnedOutputs(r: EngineRun, files: string[]): void {
    for (const dir of r.dirs) {
      for (const f of files) {
        const path = join(dir, f);
        expect(existsSync(path), `${path} was not written\n${r.output.slice(-2000)}`).toBe(true);
        expect(statSync(path).uid, `${path} owner`).toBe(who.uid);
      }
    }
  }
  return {
    lammps: () => {
      it('runs in.lj to the end and writes its dump, data file and log', async () => {
        const run = await runJob({ tool: 'lammps', example: 'in.lj' });
        try {
          expect(run.argv).toEqual(['lmp', '-in', 'in.lj']);
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expect(run.output).toContain('LJ melt finished: T=3.0, 250 steps');
          expect(lastLine(run.output)).toMatch(/^Total wall time: \d+:\d\d:\d\d$/);
          expectOwnedOutputs(run, ['log.lammps', 'dump.lj', 'final.data']);
          const thermo = run.output.split('\n').filter((l) => /^\s+(0|250)\s+[-\d.]+\s+[-\d.]+/.test(l));
          expect(thermo).toHaveLength(2);
          console.log(
            `lammps in.lj as uid ${who.uid}: exit ${run.exitCode}\n  Step Temp E_pair E_mol TotEng Press\n${thermo.map((l) => `  ${l.trim()}`).join('\n')}\n  ${lastLine(run.output)}`,
          );
        } finally {
          await run.cleanup();
        }
      });

      it('passes arguments after -- to lmp (-var T 2.0)', async () => {
        const run = await runJob({
          tool: 'lammps',
          example: 'in.lj',
          extraArgs: ['-var', 'T', '2.0', '-var', 'steps', '50'],
        });
        try {
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expect(run.output).toContain('LJ melt finished: T=2.0, 50 steps');
        } finally {
          await run.cleanup();
        }
      });

      it("runs in.lj with 2 MPI ranks (mpirun, as --ranks 2) and ends at the serial run's thermo", async () => {
        const serial = await runJob({ tool: 'lammps', example: 'in.lj' });
        const parallel = await runJob({ tool: 'lammps', example: 'in.lj', ranks: 2 });
        try {
          expect(parallel.argv).toEqual(['mpirun', '-np', '2', 'lmp', '-in', 'in.lj']);
          expect(parallel.exitCode, parallel.output.slice(-3000)).toBe(0);
          expect(parallel.output).toMatch(/with 2 MPI tasks x 1 OpenMP threads/);
          expect(parallel.output).toContain('LJ melt finished: T=3.0, 250 steps');
          expectOwnedOutputs(parallel, ['log.lammps', 'dump.lj', 'final.data']);
          const a = thermoAt(serial.output, 250)!;
          const b = thermoAt(parallel.output, 250)!;
          expect(b).toHaveLength(6);
          // Forces are summed in another order across 2 subdomains, so bitwise equality is not
          // promised; here the two agree to every printed digit. 1e-6 relative leaves room for
          // rounding without hiding a wrong run (a wrong T or step count moves these by >1e-2).
          for (const [i, x] of a.entries())
            expect(Math.abs(b[i]! - x), `column ${i} at step 250: serial ${x}, 2 ranks ${b[i]}`).toBeLessThanOrEqual(
              1e-6 * Math.max(1, Math.abs(x)),
            );
          console.log(
            `lammps in.lj, 2 ranks as uid ${who.uid}: exit ${parallel.exitCode}\n  step 250 serial:  ${a.join(' ')}\n  step 250 2 ranks: ${b.join(' ')}\n  ${parallel.output.split('\n').find((l) => l.includes('MPI tasks'))}`,
          );
        } finally {
          await serial.cleanup();
          await parallel.cleanup();
        }
      });

      it('exits non-zero on a broken input', async () => {
        const run = await runJob({
          tool: 'lammps',
          example: 'in.lj',
          breakInput: async (file) => writeFile(file, `not_a_lammps_command 1\n${await readFile(file, 'utf8')}`),
        });
        try {
          expect(run.exitCode).not.toBe(0);
          expect(run.output).toMatch(/ERROR: Unknown command/);
          console.log(
            `lammps broken input: exit ${run.exitCode}: ${run.output.split('\n').find((l) => l.includes('ERROR'))}`,
          );
        } finally {
          await run.cleanup();
        }
      });
    },
    openfoam: () => {
      it('meshes the cavity case and runs icoFoam to the end time', async () => {
        const run = await runJob({ tool: 'openfoam', example: 'cavity' });
        try {
          expect(run.argv.slice(0, 2)).toEqual(['bash', '-c']);
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expect(run.output).toMatch(/^Create time$/m);
          expect(lastLine(run.output)).toBe('End');
          expectOwnedOutputs(run, ['cavity/constant/polyMesh/points', 'cavity/0.5/U', 'cavity/0.5/p', 'cavity/0.1/U']);
          const cells = /nCells: (\d+)/.exec(run.output)?.[1];
          const courant = run.output
            .split('\n')
            .filter((l) => l.startsWith('Courant Number'))
            .pop();
          const time = run.output
            .split('\n')
            .filter((l) => l.startsWith('ExecutionTime'))
            .pop();
          console.log(
            `openfoam cavity as uid ${who.uid}: exit ${run.exitCode}; ${cells} cells; last step: ${courant}; ${time}; last line: ${lastLine(run.output)}`,
          );
        } finally {
          await run.cleanup();
        }
      });

      it("with 2 ranks: decomposes into 2 subdomains, runs icoFoam -parallel, reconstructs the serial run's fields", async () => {
        const serial = await runJob({ tool: 'openfoam', example: 'cavity' });
        const parallel = await runJob({ tool: 'openfoam', example: 'cavity', ranks: 2 });
        try {
          expect(parallel.exitCode, parallel.output.slice(-3000)).toBe(0);
          expect(parallel.argv.slice(-3)).toEqual(['keystone-openfoam', 'cavity', '2']);
          expect(parallel.output).toMatch(/^Processor 1$/m); // decomposePar made 2 subdomains
          expect(parallel.output).not.toMatch(/^Processor 2$/m);
          expect(parallel.output).toMatch(/^Reconstructing FV fields$/m);
          expect(lastLine(parallel.output)).toBe('End');
          const caseDir = join(parallel.dirs[0]!, 'cavity');
          expectOwnedOutputs(parallel, [
            'cavity/processor0/0.5/U',
            'cavity/processor1/0.5/p',
            'cavity/0.5/U',
            'cavity/0.5/p',
            'cavity/0.5/phi',
          ]);
          let worst = '';
          for (const field of ['p', 'U']) {
            const a = await fieldValues(join(serial.dirs[0]!, 'cavity', '0.5', field));
            const b = await fieldValues(join(caseDir, '0.5', field));
            expect(b[0], `${field}: cells`).toBe(a[0]);
            expect(b).toHaveLength(a.length);
            const scale = Math.max(...a.slice(1).map(Math.abs));
            const diff = Math.max(...a.slice(1).map((x, i) => Math.abs(x - b[i + 1]!)));
            // The linear solvers stop at a tolerance (system/fvSolution: p 1e-06) and DIC/DILU
            // preconditioning is per subdomain, so the fields agree to about that, not bit for bit.
            expect(diff, `${field}: largest difference ${diff} of ${scale}`).toBeLessThanOrEqual(1e-3 * scale);
            worst += ` ${field}: ${a[0]} cells, largest difference ${diff.toExponential(2)} (of max |${field}| ${scale.toExponential(2)});`;
          }
          console.log(
            `openfoam cavity, 2 ranks as uid ${who.uid}: exit ${parallel.exitCode};${worst} last line: ${lastLine(parallel.output)}`,
          );
        } finally {
          await serial.cleanup();
          await parallel.cleanup();
        }
      });

      it('exits non-zero on a broken case (no blockMeshDict)', async () => {
        const run = await runJob({
          tool: 'openfoam',
          example: 'cavity',
          breakInput: (dir) => rm(join(dir, 'system', 'blockMeshDict')),
        });
        try {
          expect(run.exitCode).not.toBe(0);
          expect(existsSync(join(run.dirs[0]!, 'cavity', '0.5'))).toBe(false);
          console.log(`openfoam broken case: exit ${run.exitCode}`);
        } finally {
          await run.cleanup();
        }
      });
    },
    fenicsx: () => {
      const { extraEnv, label: version } = fenicsx;

      it(`solves the Poisson problem for DEGREE=1,2 (the sweep docs/commands-runs.md shows) and writes poisson.xdmf (DOLFINx ${version})`, async () => {
        const run = await runJob({
          tool: 'fenicsx',
          example: 'poisson.py',
          sweep: ['N=16,32', 'DEGREE=1,2'],
          extraEnv,
        });
        try {
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expectOwnedOutputs(run, ['poisson.xdmf', 'poisson.h5']);
          const errors = run.output.split('\n').filter((l) => /^(N=\d+ degree=\d+ dofs=|L2 error|max error)/.test(l));
          expect(errors).toHaveLength(12);
          console.log(
            `fenicsx poisson.py sweep as uid ${who.uid}, DOLFINx ${version}: exit ${run.exitCode}\n${errors.map((l) => `  ${l}`).join('\n')}`,
          );
        } finally {
          await run.cleanup();
        }
      });

      it("runs poisson.py with 2 MPI ranks to the serial run's errors", async () => {
        const env = { ...extraEnv, N: '16' };
        const serial = await runJob({ tool: 'fenicsx', example: 'poisson.py', extraEnv: env });
        const parallel = await runJob({ tool: 'fenicsx', example: 'poisson.py', extraEnv: env, ranks: 2 });
        try {
          expect(parallel.argv).toEqual(['mpirun', '-np', '2', 'python3', 'poisson.py']);
          expect(parallel.exitCode, parallel.output.slice(-3000)).toBe(0);
          expectOwnedOutputs(parallel, ['poisson.xdmf', 'poisson.h5']);
          const errors = (out: string) =>
            out.split('\n').filter((l) => /^(N=\d+ degree=\d+ dofs=|L2 error|max error)/.test(l));
          expect(errors(parallel.output)).toHaveLength(3); // printed once, by rank 0
          const l2 = (out: string) => Number(/^L2 error: (\S+)$/m.exec(out)![1]);
          expect(Math.abs(l2(parallel.output) - l2(serial.output))).toBeLessThanOrEqual(1e-3 * l2(serial.output));
          console.log(
            `fenicsx poisson.py N=16, 2 ranks as uid ${who.uid}: exit ${parallel.exitCode}; serial: ${errors(serial.output).join('; ')}; 2 ranks: ${errors(parallel.output).join('; ')}`,
          );
        } finally {
          await serial.cleanup();
          await parallel.cleanup();
        }
      });

      it('exits non-zero on a broken script', async () => {
        const run = await runJob({
          tool: 'fenicsx',
          example: 'poisson.py',
          extraEnv,
          breakInput: (file) => appendFile(file, '\ndef broken(:\n'),
        });
        try {
          expect(run.exitCode).not.toBe(0);
          expect(run.output).toContain('SyntaxError');
        } finally {
          await run.cleanup();
        }
      });
    },
  };
}
