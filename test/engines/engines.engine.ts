// `npm run test:engines`: each profile's real command line, run by the real engine installed on
// this machine, on a copy of the shipped example, as a non-root uid other than 1000 (see
// engine-run.ts). An engine that is not installed is reported as skipped with the command that
// installs it, never as passed. Figures printed here are the ones the README quotes.
import { existsSync, statSync } from 'node:fs';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { engineIdentity, lastLine, loadProject, onPath, repoRoot, runLikeTheJob, type EngineRun } from './engine-run.js';

const project = await loadProject();
const who = engineIdentity();

/** Installed DOLFINx version under the image's PATH, or undefined. */
function dolfinxVersion(): string | undefined {
  const r = execaSync('/usr/bin/env', ['-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'python3', '-c', 'import dolfinx; print(dolfinx.__version__)'], { reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
}
const olderThan09 = (v: string) => {
  const [major, minor] = v.split('.').map(Number);
  return major === 0 && (minor ?? 0) < 9;
};

interface EngineCase {
  /** undefined when the engine is here; otherwise what is missing. */
  missing: () => string | undefined;
  install: string;
  check: () => void;
}

function expectOwnedOutputs(run: EngineRun, files: string[]): void {
  for (const dir of run.dirs) {
    for (const f of files) {
      const path = join(dir, f);
      expect(existsSync(path), `${path} was not written\n${run.output.slice(-2000)}`).toBe(true);
      expect(statSync(path).uid, `${path} owner`).toBe(who.uid);
    }
  }
}

const cases: Record<string, EngineCase> = {
  lammps: {
    missing: () => (onPath('lmp') ? undefined : 'lmp not found'),
    install: 'apt-get install -y lammps openmpi-bin',
    check: () => {
      it('runs in.lj to the end and writes its dump, data file and log', async () => {
        const run = await runLikeTheJob(project, who, { tool: 'lammps', example: 'in.lj' });
        try {
          expect(run.argv).toEqual(['lmp', '-in', 'in.lj']);
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expect(run.output).toContain('LJ melt finished: T=3.0, 250 steps');
          expect(lastLine(run.output)).toMatch(/^Total wall time: \d+:\d\d:\d\d$/);
          expectOwnedOutputs(run, ['log.lammps', 'dump.lj', 'final.data']);
          const thermo = run.output.split('\n').filter((l) => /^\s+(0|250)\s+[-\d.]+\s+[-\d.]+/.test(l));
          expect(thermo).toHaveLength(2);
          console.log(`lammps in.lj as uid ${who.uid}: exit ${run.exitCode}\n  Step Temp E_pair E_mol TotEng Press\n${thermo.map((l) => `  ${l.trim()}`).join('\n')}\n  ${lastLine(run.output)}`);
        } finally {
          await run.cleanup();
        }
      });

      it('passes arguments after -- to lmp (-var T 2.0)', async () => {
        const run = await runLikeTheJob(project, who, { tool: 'lammps', example: 'in.lj', extraArgs: ['-var', 'T', '2.0', '-var', 'steps', '50'] });
        try {
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expect(run.output).toContain('LJ melt finished: T=2.0, 50 steps');
        } finally {
          await run.cleanup();
        }
      });

      it('exits non-zero on a broken input', async () => {
        const run = await runLikeTheJob(project, who, {
          tool: 'lammps',
          example: 'in.lj',
          breakInput: async (file) => writeFile(file, `not_a_lammps_command 1\n${await readFile(file, 'utf8')}`),
        });
        try {
          expect(run.exitCode).not.toBe(0);
          expect(run.output).toMatch(/ERROR: Unknown command/);
          console.log(`lammps broken input: exit ${run.exitCode}: ${run.output.split('\n').find((l) => l.includes('ERROR'))}`);
        } finally {
          await run.cleanup();
        }
      });
    },
  },

  openfoam: {
    missing: () => (existsSync('/usr/share/openfoam/etc/bashrc') && onPath('blockMesh') ? undefined : 'Debian OpenFOAM (/usr/share/openfoam/etc/bashrc) not found'),
    install: 'apt-get install -y openfoam openmpi-bin',
    check: () => {
      it('meshes the cavity case and runs icoFoam to the end time', async () => {
        const run = await runLikeTheJob(project, who, { tool: 'openfoam', example: 'cavity' });
        try {
          expect(run.argv.slice(0, 2)).toEqual(['bash', '-c']);
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expect(run.output).toMatch(/^Create time$/m);
          expect(lastLine(run.output)).toBe('End');
          expectOwnedOutputs(run, ['cavity/constant/polyMesh/points', 'cavity/0.5/U', 'cavity/0.5/p', 'cavity/0.1/U']);
          const cells = /nCells: (\d+)/.exec(run.output)?.[1];
          const courant = run.output.split('\n').filter((l) => l.startsWith('Courant Number')).pop();
          const time = run.output.split('\n').filter((l) => l.startsWith('ExecutionTime')).pop();
          console.log(`openfoam cavity as uid ${who.uid}: exit ${run.exitCode}; ${cells} cells; last step: ${courant}; ${time}; last line: ${lastLine(run.output)}`);
        } finally {
          await run.cleanup();
        }
      });

      it('exits non-zero on a broken case (no blockMeshDict)', async () => {
        const run = await runLikeTheJob(project, who, { tool: 'openfoam', example: 'cavity', breakInput: (dir) => rm(join(dir, 'system', 'blockMeshDict')) });
        try {
          expect(run.exitCode).not.toBe(0);
          expect(existsSync(join(run.dirs[0]!, 'cavity', '0.5'))).toBe(false);
          console.log(`openfoam broken case: exit ${run.exitCode}`);
        } finally {
          await run.cleanup();
        }
      });
    },
  },

  fenicsx: {
    missing: () => (dolfinxVersion() ? undefined : 'DOLFINx (python3 -c "import dolfinx") not found'),
    install: 'apt-get install -y python3-dolfinx  (Debian bookworm has 0.5; the image pins 0.9.0, whose API test/engines/dolfinx-0.9-api holds the script to)',
    check: () => {
      const version = dolfinxVersion()!;
      // On an older DOLFINx, the shim adds the 0.9.0 names poisson.py uses and enforces 0.9.0's
      // XDMF rule (a written Function has the mesh's degree), so the script is held to the image's API.
      const extraEnv = olderThan09(version) ? { PYTHONPATH: join(repoRoot, 'test', 'engines', 'dolfinx-0.9-api') } : undefined;

      it(`solves the Poisson problem for DEGREE=1,2 (the README's sweep) and writes poisson.xdmf (DOLFINx ${version}${extraEnv ? ' held to the 0.9.0 API' : ''})`, async () => {
        const run = await runLikeTheJob(project, who, { tool: 'fenicsx', example: 'poisson.py', sweep: ['N=16,32', 'DEGREE=1,2'], extraEnv });
        try {
          expect(run.exitCode, run.output.slice(-3000)).toBe(0);
          expectOwnedOutputs(run, ['poisson.xdmf', 'poisson.h5']);
          const errors = run.output.split('\n').filter((l) => /^(N=\d+ degree=\d+ dofs=|L2 error|max error)/.test(l));
          expect(errors).toHaveLength(12);
          console.log(`fenicsx poisson.py sweep as uid ${who.uid}, DOLFINx ${version}: exit ${run.exitCode}\n${errors.map((l) => `  ${l}`).join('\n')}`);
        } finally {
          await run.cleanup();
        }
      });

      it('exits non-zero on a broken script', async () => {
        const run = await runLikeTheJob(project, who, { tool: 'fenicsx', example: 'poisson.py', extraEnv, breakInput: (file) => appendFile(file, '\ndef broken(:\n') });
        try {
          expect(run.exitCode).not.toBe(0);
          expect(run.output).toContain('SyntaxError');
        } finally {
          await run.cleanup();
        }
      });
    },
  },
};

for (const tool of Object.keys(project.profiles)) {
  const c = cases[tool];
  if (!c) {
    describe.skip(`${tool}: no engine check in test/engines/engines.engine.ts yet`, () => {
      it('has no check', () => {});
    });
    continue;
  }
  const missing = c.missing();
  if (missing) {
    describe.skip(`${tool}: SKIPPED, engine not installed (${missing}); install: ${c.install}`, () => {
      it('needs the engine', () => {});
    });
    continue;
  }
  describe(`${tool} (as uid ${who.uid})`, () => c.check());
}
