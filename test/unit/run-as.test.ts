// Which uid a run's pod uses on the local cluster (issue: outputs unwritable unless the host uid is 1000).
import { describe, expect, it } from 'vitest';
import { runAsForLocalCluster, rootMappedId } from '../../src/runs/build/run-as.js';
import { buildJobFromTemplate } from '../../src/runs/build/job.js';
import type { JobObject } from '../../src/kube/objects.js';

describe('runAsForLocalCluster', () => {
  it('runs as the invoking user, whatever their uid (CI runners are often 1001)', () => {
    expect(runAsForLocalCluster({ uid: 1001, gid: 121, env: {} })).toEqual({ uid: 1001, gid: 121, chownRunDir: false });
    // SUDO_* only matter for root: a normal user's environment cannot pick another uid.
    expect(runAsForLocalCluster({ uid: 501, gid: 20, env: { SUDO_UID: '0', SUDO_GID: '0' } })).toMatchObject({
      uid: 501,
      gid: 20,
    });
  });

  it('under sudo runs as the user who ran sudo and hands them the run directory', () => {
    const r = runAsForLocalCluster({ uid: 0, gid: 0, env: { SUDO_UID: '1002', SUDO_GID: '1003' } });
    expect(r).toMatchObject({ uid: 1002, gid: 1003, chownRunDir: true });
    expect(r?.note).toContain('SUDO_UID');
  });

  it('as root without sudo maps to a non-root uid (pods never run as root)', () => {
    for (const env of [{}, { SUDO_UID: '0', SUDO_GID: '0' }, { SUDO_UID: 'x; rm', SUDO_GID: '1' }]) {
      expect(runAsForLocalCluster({ uid: 0, gid: 0, env })).toMatchObject({
        uid: rootMappedId,
        gid: rootMappedId,
        chownRunDir: true,
      });
    }
    expect(rootMappedId).not.toBe(0);
  });

  it('keeps the template when the platform has no uids', () => {
    expect(runAsForLocalCluster({ uid: undefined, gid: undefined, env: {} })).toBeUndefined();
  });
});

describe('buildJobFromTemplate runAs', () => {
  const template: JobObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'lammps-template', namespace: 'keystone' },
    spec: {
      suspend: true,
      template: {
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            { name: 'simulation', image: 'i', securityContext: { runAsUser: 1000, allowPrivilegeEscalation: false } },
          ],
        },
      },
    },
  };
  const base = {
    tool: 'lammps',
    runId: 'r',
    name: 'lammps-r',
    command: ['lmp'],
    workingDir: '/w',
    inputName: 'in.lj',
    outputDir: '/o',
    retries: 0,
    env: [] as [string, string][],
  };

  it('sets the uid and gid on the pod and overrides a container-level uid', () => {
    const job = buildJobFromTemplate(template, { ...base, runAs: { uid: 1001, gid: 1001 } });
    expect(job.spec.template.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1001,
      runAsGroup: 1001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(job.spec.template.spec.containers[0]!.securityContext).toEqual({
      runAsUser: 1001,
      runAsGroup: 1001,
      allowPrivilegeEscalation: false,
    });
    // The template is not changed.
    expect(template.spec.template.spec.securityContext).toMatchObject({ runAsUser: 1000 });
  });

  it("leaves the template's uid without runAs (another cluster)", () => {
    const job = buildJobFromTemplate(template, base);
    expect(job.spec.template.spec.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
  });
});
