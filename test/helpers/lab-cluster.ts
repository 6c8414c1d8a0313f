// Another cluster for the tests: a ready keystone sandbox plus a context "lab" on the same fake
// API server, which is not the local k3d cluster's context (so runs use a run volume), and every
// pod and Job created after setup as it was submitted.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createReadyHarness, type Harness } from './harness.js';
import { kubeconfigFor } from '../fakes/kube-api-server.mjs';

export interface LabCluster {
  h: Harness;
  /** The options that name the lab context: --context lab --kubeconfig <its file>. */
  lab: string[];
  /** Every pod and Job created after setup, as submitted (the fake's ADDED events). */
  submitted: any[];
}

export async function createLabCluster(): Promise<LabCluster> {
  const h = await createReadyHarness();
  const file = join(h.home, 'lab.yaml');
  await writeFile(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
  const submitted: any[] = [];
  h.api.onChange((resource: string, type: string, obj: any) => {
    if (
      (resource === 'pods' || resource === 'jobs') &&
      type === 'ADDED' &&
      !obj.metadata.labels?.['keystone.io/simulation-template']
    )
      submitted.push(obj);
  });
  return { h, lab: ['--context', 'lab', '--kubeconfig', file], submitted };
}

/** keystone's volume helper pods still there. */
export const helperPodsOf = (h: Harness): any[] =>
  h.api.objects('pods').filter((p: any) => p.metadata.labels?.['keystone.io/volume-helper']);
