// A Job's pod template is immutable in the API server, even while suspended: the fake enforces it
// as the real one does, and apply replaces a suspended template whose immutable fields changed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubeconfigFor, startFakeKubeApi } from '../fakes/kube-api-server.mjs';
import { KubeApiError, loadKubeClient, type KubeClient } from '../../src/kube/client.js';
import { resolveTarget } from '../../src/kube/target.js';
import { findKubeconfigs } from '../../src/kube/kubeconfig/files.js';
import { applyManifest } from '../../src/stack/apply.js';
import { kindInfo } from '../../src/stack/kinds.js';
import type { Manifest } from '../../src/stack/manifests.js';

type Api = Awaited<ReturnType<typeof startFakeKubeApi>>;
let api: Api;
let client: KubeClient;

beforeEach(async () => {
  api = await startFakeKubeApi();
  // The namespace must exist, as on a real server (NamespaceLifecycle admission refuses creates in a missing one).
  api.create('namespaces', { metadata: { name: 'keystone' }, status: { phase: 'Active' } });
  const dir = await mkdtemp(join(tmpdir(), 'keystone-kc-'));
  const file = join(dir, 'config');
  await writeFile(file, stringify(kubeconfigFor(api.url, 'k3d-keystone-cluster')), { mode: 0o600 });
  client = await loadKubeClient(resolveTarget({ kubeconfig: findKubeconfigs(file, {}) }, 'keystone-cluster'));
});
afterEach(async () => api.close());

function templateJob(
  image: string,
  extra: { labels?: Record<string, string>; suspend?: boolean; nodeSelector?: Record<string, string> } = {},
) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'lammps-template',
      namespace: 'keystone',
      labels: extra.labels ?? { 'keystone.io/simulation-template': 'lammps' },
    },
    spec: {
      suspend: extra.suspend ?? true,
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'keystone.io/simulation': 'lammps' } as Record<string, string> },
        spec: {
          restartPolicy: 'Never',
          ...(extra.nodeSelector ? { nodeSelector: extra.nodeSelector } : {}),
          containers: [{ name: 'simulation', image, command: ['true'] }],
        },
      },
    },
  };
}
const manifest = (object: ReturnType<typeof templateJob>): Manifest => ({
  source: 'k8s/manifests/31-lammps.yaml:3',
  object,
  info: kindInfo('batch/v1', 'Job')!,
});
const path = '/apis/batch/v1/namespaces/keystone/jobs/lammps-template';
const applyRaw = (object: unknown, dryRun = false) =>
  client.request({
    method: 'PATCH',
    path,
    query: { fieldManager: 'keystone', dryRun: dryRun ? 'All' : undefined },
    body: JSON.stringify(object),
    contentType: 'application/apply-patch+yaml',
  });

describe('the fake API server: Job updates', () => {
  it('refuses a changed pod template with the 422 Status the real server sends (dry run too)', async () => {
    await applyRaw(templateJob('keystone/lammps:0.1.0'));
    for (const dryRun of [true, false]) {
      const err = await applyRaw(templateJob('keystone/lammps:0.2.0'), dryRun).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      const e = err as KubeApiError;
      expect(e.statusCode).toBe(422);
      expect(e.status).toMatchObject({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Invalid',
        code: 422,
        details: { name: 'lammps-template', group: 'batch', kind: 'Job' },
      });
      expect(e.status?.message).toMatch(
        /^Job\.batch "lammps-template" is invalid: spec\.template: Invalid value: .*: field is immutable$/,
      );
      expect(e.status?.details?.causes).toEqual([
        {
          reason: 'FieldValueInvalid',
          field: 'spec.template',
          message: expect.stringMatching(/^Invalid value: .*keystone\/lammps:0\.2\.0.*: field is immutable$/),
        },
      ]);
    }
    expect(api.get('jobs', 'keystone', 'lammps-template').spec.template.spec.containers[0].image).toBe(
      'keystone/lammps:0.1.0',
    );
  });

  it('lets labels, annotations and scheduling directives change only while suspended and never started', async () => {
    await applyRaw(templateJob('i:1'));
    const changed = templateJob('i:1', { nodeSelector: { disk: 'ssd' } });
    changed.spec.template.metadata.labels = { 'keystone.io/simulation': 'lammps', extra: 'yes' };
    await applyRaw(changed);
    expect(api.get('jobs', 'keystone', 'lammps-template').spec.template.spec.nodeSelector).toEqual({ disk: 'ssd' });
    // Once started, even the scheduling directives are fixed.
    const job = api.get('jobs', 'keystone', 'lammps-template');
    api.update('jobs', { ...job, status: { startTime: '2026-12-01T00:00:00Z' } });
    const err = (await applyRaw(templateJob('i:1', { nodeSelector: { disk: 'hdd' } })).catch(
      (e: unknown) => e,
    )) as KubeApiError;
    expect(err.statusCode).toBe(422);
  });

  it('takes a strategic merge patch of a Job, but of a custom resource (an MPIJob) answers 415, as the real server does', async () => {
    await applyRaw(templateJob('i:1'));
    const patch = (path: string, contentType: string) =>
      client.request({ method: 'PATCH', path, body: { metadata: { annotations: { a: 'b' } } }, contentType });
    await patch('/apis/batch/v1/namespaces/keystone/jobs/lammps-template', 'application/strategic-merge-patch+json');
    api.installCustomResource('mpijobs');
    api.create('mpijobs', {
      apiVersion: 'kubeflow.org/v2beta1',
      kind: 'MPIJob',
      metadata: { name: 'm', namespace: 'keystone' },
      spec: {},
    });
    const path = '/apis/kubeflow.org/v2beta1/namespaces/keystone/mpijobs/m';
    const err = (await patch(path, 'application/strategic-merge-patch+json').catch((e: unknown) => e)) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.statusCode).toBe(415);
    await patch(path, 'application/merge-patch+json');
    expect(api.get('mpijobs', 'keystone', 'm').metadata.annotations).toEqual({ a: 'b' });
  });

  it('refuses a changed completions or selector, and PUT and merge patches as well', async () => {
    await applyRaw(templateJob('i:1'));
    const current = api.get('jobs', 'keystone', 'lammps-template');
    const put = (await client
      .request({ method: 'PUT', path, body: { ...current, spec: { ...current.spec, completions: 3 } } })
      .catch((e: unknown) => e)) as KubeApiError;
    expect(put.status?.details?.causes?.map((c) => c.field)).toEqual(['spec.completions']);
    const merge = (await client
      .request({
        method: 'PATCH',
        path,
        body: { spec: { template: { spec: { containers: [{ name: 'simulation', image: 'i:2' }] } } } },
        contentType: 'application/merge-patch+json',
      })
      .catch((e: unknown) => e)) as KubeApiError;
    expect(merge.statusCode).toBe(422);
  });
});

describe('applyManifest and Job templates', () => {
  it('replaces a suspended template whose pod template changed, and says so', async () => {
    await applyManifest(client, manifest(templateJob('keystone/lammps:0.1.0')));
    const before = api.get('jobs', 'keystone', 'lammps-template');
    const applied = await applyManifest(client, manifest(templateJob('keystone/lammps:0.2.0')));
    expect(applied.replacedTemplate).toMatch(
      /^replaced Job keystone\/lammps-template \(deleted and created again: spec\.template cannot change in place/,
    );
    const after = api.get('jobs', 'keystone', 'lammps-template');
    expect(after.spec.template.spec.containers[0].image).toBe('keystone/lammps:0.2.0');
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(api.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([path]);
  });

  it('in a dry run only says it would replace it', async () => {
    await applyManifest(client, manifest(templateJob('keystone/lammps:0.1.0')));
    const applied = await applyManifest(client, manifest(templateJob('keystone/lammps:0.2.0')), { dryRun: true });
    expect(applied.replacedTemplate).toMatch(/^would replace Job keystone\/lammps-template/);
    expect(api.get('jobs', 'keystone', 'lammps-template').spec.template.spec.containers[0].image).toBe(
      'keystone/lammps:0.1.0',
    );
    expect(api.requests.some((r) => r.method === 'DELETE')).toBe(false);
  });

  it('never replaces anything else: a Job without the template label, or one that has started', async () => {
    const plain = { labels: { app: 'x' } };
    await applyManifest(client, manifest(templateJob('i:1', plain)));
    await expect(applyManifest(client, manifest(templateJob('i:2', plain)))).rejects.toThrow(
      /the API server rejected Job keystone\/lammps-template .*field is immutable/,
    );

    api.remove('jobs', 'keystone', 'lammps-template');
    await applyManifest(client, manifest(templateJob('i:1')));
    const job = api.get('jobs', 'keystone', 'lammps-template');
    api.update('jobs', { ...job, status: { startTime: '2026-12-01T00:00:00Z', active: 1 } });
    const err = (await applyManifest(client, manifest(templateJob('i:2'))).catch((e: unknown) => e)) as {
      message: string;
      hint?: string;
    };
    expect(err.message).toMatch(/the API server rejected Job keystone\/lammps-template .*field is immutable/);
    expect(err.hint).toMatch(/not a suspended, never-started template, so keystone does not replace it/);
    expect(api.requests.some((r) => r.method === 'DELETE')).toBe(false);
    expect(api.get('jobs', 'keystone', 'lammps-template').spec.template.spec.containers[0].image).toBe('i:1');
  });
});
