// docs/commands-cluster.md (setup) says: edit k8s/manifests/3x-*.yaml and run setup. The API server
// forbids changing a Job's pod template in place, so setup replaces the suspended template and says so.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

describe('setup after editing a simulation template', () => {
  it('replaces the suspended template Job (delete + create) and the next run uses the edit', async () => {
    const file = join(h.project, 'k8s', 'manifests', '31-lammps.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('              cpu: 500m', '              cpu: 750m'));
    const before = h.api.get('jobs', 'keystone', 'lammps-template');

    const dry = await h.run(['setup', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('would replace Job keystone/lammps-template: spec.template cannot change in place');
    expect(h.api.get('jobs', 'keystone', 'lammps-template').metadata.uid).toBe(before.metadata.uid);

    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'replaced Job keystone/lammps-template (deleted and created again: spec.template cannot change in place; templates never run, so nothing was lost)',
    );
    const after = h.api.get('jobs', 'keystone', 'lammps-template');
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(after.spec.suspend).toBe(true);
    expect(after.spec.template.spec.containers[0].resources.requests.cpu).toBe('750m');
    // Only that template was replaced; the other two are the same objects.
    for (const other of ['fenicsx-template', 'openfoam-template'])
      expect(r.stderr).not.toContain(`replaced Job keystone/${other}`);

    const run = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(run.exitCode, run.stderr).toBe(0);
    const job = h.api.objects('jobs').find((j: any) => j.metadata.labels['keystone.io/run-id'])!;
    expect(job.spec.template.spec.containers[0].resources.requests.cpu).toBe('750m');

    // Setup again with nothing edited changes nothing.
    const again = await h.run(['setup']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('replaced');
    expect(h.api.get('jobs', 'keystone', 'lammps-template').metadata.uid).toBe(after.metadata.uid);
  }, 120_000);
});
