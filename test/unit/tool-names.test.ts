// Completion's tool names: remembered by the profiles file's content hash, so a TAB does not load
// the profile validation; a changed file is validated again, a broken one offers nothing.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownTools } from '../../src/completion/tool-names.js';
import { repoRoot } from '../fakes/sandbox.mjs';

async function fixture() {
  const root = await mkdtemp(join(tmpdir(), 'keystone-tools-'));
  const profiles = join(root, 'profiles.yaml');
  await writeFile(profiles, await readFile(join(repoRoot, 'k8s', 'simulations', 'profiles.yaml'), 'utf8'));
  const app = { env: { KEYSTONE_HOME: join(root, 'home') }, version: '1.0.0', cwd: root, paths: { profiles } as never };
  return { root, profiles, app, cacheFile: join(root, 'home', 'cache', 'tool-names.json') };
}

describe('tool names for completion', () => {
  it("validates the profiles once and remembers their names by the file's hash (0600)", async () => {
    const f = await fixture();
    expect(await knownTools(f.app)).toEqual(['fenicsx', 'lammps', 'openfoam']);
    const remembered = JSON.parse(await readFile(f.cacheFile, 'utf8'));
    expect(remembered.hash).toBe(
      createHash('sha256')
        .update(await readFile(f.profiles, 'utf8'))
        .digest('hex'),
    );
    expect((await stat(f.cacheFile)).mode & 0o777).toBe(0o600);
    // What is remembered is what is offered (the validation is not run again).
    await writeFile(f.cacheFile, JSON.stringify({ ...remembered, names: ['remembered'] }));
    expect(await knownTools(f.app)).toEqual(['remembered']);
    // Another keystone version validates again.
    expect(await knownTools({ ...f.app, version: '2.0.0' })).toEqual(['fenicsx', 'lammps', 'openfoam']);
  });

  it('a changed file is validated again; a broken one offers no names', async () => {
    const f = await fixture();
    await knownTools(f.app);
    await writeFile(f.profiles, (await readFile(f.profiles, 'utf8')).replace(/^ {2}lammps:$/m, '  lammps2:'));
    expect(await knownTools(f.app)).toEqual(['fenicsx', 'lammps2', 'openfoam']);
    await writeFile(f.profiles, 'apiVersion: keystone.io/v1\nkind: SimulationProfiles\nprofiles: {}\n');
    expect(await knownTools(f.app)).toEqual([]);
    expect(await knownTools({ ...f.app, paths: { profiles: join(f.root, 'missing.yaml') } as never })).toEqual([]);
  });
});
