/** Scaling and restarting Deployments, then waiting for the rollout with the reason when it cannot finish. */
import { WaitTimeoutError } from '../kube/watch-until.js';
import { KeystoneError, UsageError } from '../errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { waitForStack } from '../stack/rollout.js';
import { listDeployments, matchesLabels, noDeployment, selectorOf } from './stack-objects.js';
import { fieldManagers, stackNamespace } from '../vocabulary.js';
import type { DeploymentObject } from '../kube/objects.js';

export const maxReplicas = 100;

export function parseReplicas(text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(
      `replicas "${text}" is not a whole number`,
      `give a number from 0 to ${maxReplicas}, e.g. \`keystone scale celery-worker 3\``,
    );
  }
  const n = Number(text);
  if (n > maxReplicas)
    throw new UsageError(
      `replicas ${text} is more than ${maxReplicas}`,
      `a local cluster runs at most ${maxReplicas} replicas of one deployment`,
    );
  return n;
}

/** Field manager for replicas set by `keystone scale`: setup then keeps the user's choice. */

export async function scaleDeployment(
  client: KubeClient,
  name: string,
  replicas: number,
  ns = stackNamespace,
): Promise<DeploymentObject[]> {
  try {
    await client.request({
      method: 'PATCH',
      path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}/scale`,
      query: { fieldManager: fieldManagers.scale },
      body: { spec: { replicas } },
      contentType: 'application/merge-patch+json',
      retry: true, // setting an absolute replica count twice is harmless
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404)
      throw noDeployment(name, await listDeployments(client, ns), client.target);
    throw err;
  }
  return listDeployments(client, ns);
}

/** What `kubectl rollout restart` does: a new template annotation, so a new ReplicaSet rolls out. */
export async function restartDeployments(
  client: KubeClient,
  names: string[],
  ns = stackNamespace,
  now = new Date(),
): Promise<void> {
  // RFC 3339 with milliseconds: two restarts within one second still differ, so both roll out.
  const restartedAt = now.toISOString();
  for (const name of names) {
    try {
      await client.request({
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
        query: { fieldManager: fieldManagers.restart },
        body: {
          spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } },
        },
        contentType: 'application/strategic-merge-patch+json',
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404)
        throw noDeployment(name, await listDeployments(client, ns), client.target);
      throw err;
    }
  }
}

export async function waitForDeployments(
  client: KubeClient,
  deployments: DeploymentObject[],
  options: {
    timeoutMs: number;
    onProgress?: (text: string) => void;
    signal?: AbortSignal;
    ns?: string;
    localImages: string[];
  },
): Promise<void> {
  const selectors = deployments.map(selectorOf);
  try {
    await waitForStack(client, {
      namespace: options.ns ?? stackNamespace,
      deployments: deployments.map((d) => d.metadata?.name ?? ''),
      claims: [],
      localImages: options.localImages,
      timeoutMs: options.timeoutMs,
      onProgress: options.onProgress,
      signal: options.signal,
      podFilter: (pod) => selectors.some((s) => matchesLabels(pod, s)),
    });
  } catch (err) {
    if (err instanceof WaitTimeoutError) {
      throw new KeystoneError(err.message, { hint: 'the pods did not become ready: `keystone pods` shows why' });
    }
    throw err;
  }
}
