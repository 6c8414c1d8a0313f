// Every image's base tag is one its publisher documents, and says where (issue: the LAMMPS base tag
// was not one the LAMMPS project publishes, and its binaries were not the `lmp` the profile calls).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProfiles } from '../../src/runs/request/profiles.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dockerfiles = async () => {
  const dirs = await readdir(join(root, 'images'), { withFileTypes: true });
  // Folders with a Dockerfile (images/mpi holds files the simulation images copy in).
  return Promise.all(
    dirs
      .filter((d) => d.isDirectory() && existsSync(join(root, 'images', d.name, 'Dockerfile')))
      .map(async (d) => ({ name: d.name, text: await readFile(join(root, 'images', d.name, 'Dockerfile'), 'utf8') })),
  );
};

/** Where each publisher lists its tags (the comment beside FROM must name it). */
const tagSources: Record<string, RegExp> = {
  'docker.io/library/debian': /docker-library\/official-images library\/debian/,
  'docker.io/library/python': /docker-library\/official-images library\/python/,
  'docker.io/dolfinx/dolfinx': /FEniCS\/dolfinx \.github\/workflows\/docker-end-user\.yml/,
};

describe('images', () => {
  it('every FROM names a pinned tag and, in the comment above it, where that tag is published', async () => {
    for (const { name, text } of await dockerfiles()) {
      const lines = text.split('\n');
      const froms = lines.map((l, i) => ({ l, i })).filter(({ l }) => /^FROM\s/.test(l));
      expect(froms.length, name).toBeGreaterThan(0);
      for (const { l, i } of froms) {
        const ref = l.split(/\s+/)[1]!;
        const [repo, tag] = ref.split(':');
        expect(tag, `${name}: ${ref} has no tag`).toBeTruthy();
        expect(tag, `${name}: ${ref}`).not.toBe('latest');
        const source = tagSources[repo!];
        expect(source, `${name}: no known tag source for ${repo}`).toBeDefined();
        let j = i - 1;
        const comment: string[] = [];
        while (j >= 0 && lines[j]!.startsWith('#')) comment.unshift(lines[j--]!);
        const block = comment.join(' ').replace(/#\s*/g, '');
        expect(block, `${name}: the comment above FROM ${ref} does not say where the tag is published`).toMatch(
          source!,
        );
        expect(block, `${name}: the comment does not name the tag ${tag}`).toContain(tag!);
      }
    }
  });

  it('the LAMMPS and OpenFOAM images install the Debian packages that provide what their profiles call', async () => {
    const profiles = parseProfiles(
      await readFile(join(root, 'k8s', 'simulations', 'profiles.yaml'), 'utf8'),
      'profiles.yaml',
    );
    const files = Object.fromEntries((await dockerfiles()).map((d) => [d.name, d.text]));
    // From the file lists of Debian bookworm's packages (`dpkg -L lammps`, `dpkg -L openfoam`).
    expect(profiles.lammps!.command[0]).toBe('lmp');
    expect(files.lammps).toMatch(/apt-get install [^\n]*\blammps\b/);
    expect(files.lammps).toContain('/usr/bin/lmp');
    expect(profiles.openfoam!.command.join('\n')).toContain('. "$foam_env"');
    expect(profiles.openfoam!.command.join('\n')).toContain('foam_env=/usr/share/openfoam/etc/bashrc');
    expect(files.openfoam).toMatch(/apt-get install [^\n]*\bopenfoam\b/);
    expect(files.openfoam).toContain('/usr/share/openfoam/etc/bashrc');
    // Nothing may rely on an ENTRYPOINT: a Job's command replaces it.
    for (const [name, text] of Object.entries(files)) expect(text, name).not.toMatch(/^ENTRYPOINT/m);
  });

  it('each simulation image can be an MPIJob worker and launcher: sshd, nss_wrapper, keystone-mpi on PATH, its ssh settings', async () => {
    const profiles = parseProfiles(
      await readFile(join(root, 'k8s', 'simulations', 'profiles.yaml'), 'utf8'),
      'profiles.yaml',
    );
    const files = Object.fromEntries((await dockerfiles()).map((d) => [d.name, d.text]));
    for (const tool of Object.keys(profiles)) {
      expect(files[tool], tool).toMatch(/apt-get install [^\n]*\bopenssh-server\b[^\n]*\blibnss-wrapper\b/);
      expect(files[tool], tool).toContain('COPY mpi/keystone-mpi /usr/local/bin/keystone-mpi');
      expect(files[tool], tool).toContain('COPY mpi/ssh_config /etc/ssh/ssh_config.d/keystone-mpi.conf');
    }
  });
});
