// A run on the local cluster runs as the invoking user, so its outputs on the host are theirs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

describe('run-simulation as the invoking user', () => {
  it("runs the pod as the user's uid/gid (SUDO_UID/SUDO_GID under sudo) and leaves the run directory theirs", async () => {
    const root = process.getuid!() === 0;
    // Under root the CLI reads SUDO_UID/SUDO_GID; as anyone else they are ignored.
    const expected = root ? { uid: 1001, gid: 1001 } : { uid: process.getuid!(), gid: process.getgid!() };
    const r = await h.run(['run-simulation', 'lammps', 'in.lj'], { env: { SUDO_UID: '1001', SUDO_GID: '1001' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const job = h.api.objects('jobs').find((j: any) => j.metadata.labels['keystone.io/run-id'])!;
    expect(job.spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: expected.uid,
      runAsGroup: expected.gid,
    });
    const runDir = join(h.project, 'data', 'lammps', 'runs', job.metadata.labels['keystone.io/run-id']);
    for (const path of [runDir, join(runDir, 'in.lj')]) {
      const info = await stat(path);
      expect({ uid: info.uid, gid: info.gid }, path).toEqual(expected);
    }
    if (root) expect(r.stderr).toContain('under sudo: the run runs as uid 1001 (SUDO_UID)');
  });
});
