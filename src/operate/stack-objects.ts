/** Reading the stack's objects: deployments, pods, and resolving what a user's name refers to. */
import { KeystoneError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { installStackCommand, type StackTarget } from '../kube/target.js';
import { labels, stackNamespace } from '../vocabulary.js';
import type { KubeObject, DeploymentObject, PodObject } from '../kube/objects.js';

export async function listDeployments(client: KubeClient, ns = stackNamespace): Promise<DeploymentObject[]> {
  return (await client.list<DeploymentObject>(`/apis/apps/v1/namespaces/${ns}/deployments`)).items;
}

export async function listPods(client: KubeClient, ns = stackNamespace, labelSelector?: string): Promise<PodObject[]> {
  return (await client.list<PodObject>(`/api/v1/namespaces/${ns}/pods`, { labelSelector })).items;
}

export function selectorOf(d: DeploymentObject): string {
  return Object.entries(d.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function matchesLabels(obj: KubeObject, selector: string): boolean {
  const labels = obj.metadata?.labels ?? {};
  return selector
    .split(',')
    .filter(Boolean)
    .every((pair) => {
      const [k, v] = pair.split('=');
      return labels[k!] === v;
    });
}

/** A user's name for something with pods: a deployment, a simulation tool, or one pod. */
export type PodSource =
  | { kind: 'deployment'; name: string; selector: string }
  | { kind: 'simulation'; name: string; selector: string }
  | { kind: 'pod'; name: string };

/** `tools` is asked for only when the name is not a deployment (it reads the profiles). */
export async function resolvePodSource(
  client: KubeClient,
  name: string,
  toolsOf: () => Promise<readonly string[]>,
  ns = stackNamespace,
): Promise<{ source: PodSource; pods: PodObject[] }> {
  const [deployments, pods] = await Promise.all([listDeployments(client, ns), listPods(client, ns)]);
  const deployment = deployments.find((d) => d.metadata?.name === name);
  if (deployment) {
    const selector = selectorOf(deployment);
    return { source: { kind: 'deployment', name, selector }, pods: pods.filter((p) => matchesLabels(p, selector)) };
  }
  const tools = await toolsOf();
  if (tools.includes(name)) {
    const selector = `${labels.tool}=${name}`;
    return { source: { kind: 'simulation', name, selector }, pods: pods.filter((p) => matchesLabels(p, selector)) };
  }
  const pod = pods.find((p) => p.metadata?.name === name);
  if (pod) return { source: { kind: 'pod', name }, pods: [pod] };
  // The short name that log prefixes show ("celery-worker-x7k2p", without the ReplicaSet hash).
  const short = pods.filter((p) => shortPodName(p) === name);
  if (short.length === 1) return { source: { kind: 'pod', name: short[0]!.metadata?.name ?? name }, pods: short };
  if (short.length > 1) {
    throw new KeystoneError(`"${name}" names ${short.length} pods: ${short.map((p) => p.metadata?.name).join(', ')}`, {
      hint: 'use the full pod name from `keystone pods`',
    });
  }
  const services = [...deployments.map((d) => d.metadata?.name ?? ''), ...tools];
  throw new KeystoneError(`no service or pod "${name}" in namespace ${ns}; services: ${services.join(', ')}`, {
    hint: '`keystone pods` lists the pods',
  });
}

/** "celery-worker-5d9c7f-x7k2p" → "celery-worker-x7k2p": the ReplicaSet hash tells users nothing. */
export function shortPodName(pod: PodObject): string {
  const name = pod.metadata?.name ?? '';
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  return hash ? name.replace(`-${hash}-`, '-') : name;
}

export function noDeployment(name: string, deployments: DeploymentObject[], target: StackTarget): KeystoneError {
  const names = deployments.map((d) => d.metadata?.name).filter(Boolean);
  return new KeystoneError(
    `no deployment "${name}"; deployments: ${names.length ? names.join(', ') : `(none: run \`${installStackCommand(target)}\`)`}`,
  );
}
