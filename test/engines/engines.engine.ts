// `npm run test:engines`: each profile's real command line, run by the real engine installed on
// this machine, on a copy of the shipped example, as a non-root uid other than 1000 (see
// engine-run.ts). An engine that is not installed is reported as skipped with the command that
// installs it, never as passed. Figures printed here are the ones docs/development.md quotes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { describe, it } from 'vitest';
import { engineIdentity, loadProject, onPath, repoRoot, runLikeTheJob } from './engine-run.js';
import { engineChecks, type FenicsxSetting } from './engine-cases.js';

const project = await loadProject();
const who = engineIdentity();

/** Installed DOLFINx version under the image's PATH, or undefined. */
function dolfinxVersion(): string | undefined {
  const r = execaSync(
    '/usr/bin/env',
    [
      '-i',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'python3',
      '-c',
      'import dolfinx; print(dolfinx.__version__)',
    ],
    { reject: false },
  );
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
}

const engines: Record<string, EngineCase> = {
  lammps: {
    missing: () => (onPath('lmp') ? undefined : 'lmp not found'),
    install: 'apt-get install -y lammps openmpi-bin',
  },
  openfoam: {
    missing: () =>
      existsSync('/usr/share/openfoam/etc/bashrc') && onPath('blockMesh')
        ? undefined
        : 'Debian OpenFOAM (/usr/share/openfoam/etc/bashrc) not found',
    install: 'apt-get install -y openfoam openmpi-bin',
  },
  fenicsx: {
    missing: () => (dolfinxVersion() ? undefined : 'DOLFINx (python3 -c "import dolfinx") not found'),
    install:
      'apt-get install -y python3-dolfinx  (Debian bookworm has 0.5; the image pins 0.9.0, whose API test/engines/dolfinx-0.9-api holds the script to)',
  },
};

function fenicsxSetting(): FenicsxSetting {
  const version = dolfinxVersion() ?? 'not installed';
  // On an older DOLFINx, the shim adds the 0.9.0 names poisson.py uses and enforces 0.9.0's
  // XDMF rule (a written Function has the mesh's degree), so the script is held to the image's API.
  const old = version !== 'not installed' && olderThan09(version);
  return {
    extraEnv: old ? { PYTHONPATH: join(repoRoot, 'test', 'engines', 'dolfinx-0.9-api') } : undefined,
    label: `${version}${old ? ' held to the 0.9.0 API' : ''}`,
  };
}

for (const tool of Object.keys(project.profiles)) {
  const c = engines[tool];
  // Reported as skipped at run time, with the reason in the test's name: never as passed.
  if (!c) {
    it(`${tool}: no engine check in test/engines/engines.engine.ts yet`, (ctx) => ctx.skip());
    continue;
  }
  const missing = c.missing();
  if (missing) {
    it(`${tool}: SKIPPED, engine not installed (${missing}); install: ${c.install}`, (ctx) => ctx.skip());
    continue;
  }
  const checks = engineChecks(
    (req) => runLikeTheJob(project, who, req),
    who,
    tool === 'fenicsx' ? fenicsxSetting() : undefined,
  );
  describe(`${tool} (as uid ${who.uid})`, () => checks[tool]!());
}
