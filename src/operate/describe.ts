/**
 * What `kubectl describe` tells about a deployment, a pod or a run, in one document: conditions,
 * containers (image, state, last termination, restarts), mounts and the recent events about the
 * object and what it owns (its ReplicaSets and pods, or its Job's pods).
 */
import { KeystoneError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { stackNamespace } from '../vocabulary.js';
import { sortEvents, summarizeEvent, type EventObject, type EventSummary } from './events.js';
import { summarizePod } from './pod-summary.js';
import { listDeployments, listPods, matchesLabels, selectorOf, shortPodName } from './stack-objects.js';
import type { KubeObject, DeploymentObject, PodObject } from '../kube/objects.js';

export interface Description {
  kind: 'Deployment' | 'Pod' | 'Run';
  name: string;
  /** One line: "2/2 ready", "CrashLoopBackOff", "Failed (BackoffLimitExceeded)". */
  status: string;
  healthy: boolean;
  conditions: { type: string; status: string; reason?: string; message?: string }[];
  containers: {
    pod: string;
    name: string;
    image: string;
    state: 'waiting' | 'running' | 'terminated' | 'unknown';
    reason?: string;
    exitCode?: number;
    ready: boolean;
    restarts: number;
    lastTermination?: { reason?: string; exitCode?: number; finishedAt?: string };
  }[];
  mounts: { container: string; path: string; volume: string; source: string; readOnly: boolean }[];
  events: EventSummary[];
}

/** How many events are shown: the most recent ones. */
export const recentEvents = 10;

interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string };
  hostPath?: { path: string };
  configMap?: { name: string };
  secret?: { secretName: string };
  emptyDir?: object;
  [key: string]: unknown;
}
interface TemplateSpec {
  containers?: {
    name: string;
    image: string;
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  }[];
  volumes?: Volume[];
}
export type WithTemplate = KubeObject & { spec?: { template?: { spec?: TemplateSpec } } };
export type FullPod = PodObject & { spec?: TemplateSpec & { nodeName?: string } };
type StatusConditions = { conditions?: Description['conditions'] };

function source(v: Volume | undefined): string {
  if (!v) return 'unknown volume';
  if (v.persistentVolumeClaim) return `PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}`;
  if (v.hostPath) return `host path ${v.hostPath.path}`;
  if (v.configMap) return `ConfigMap ${v.configMap.name}`;
  if (v.secret) return `Secret ${v.secret.secretName}`;
  if (v.emptyDir) return 'emptyDir';
  return Object.keys(v).find((k) => k !== 'name') ?? 'volume';
}

export function mountsOf(spec: TemplateSpec | undefined): Description['mounts'] {
  const volumes = new Map((spec?.volumes ?? []).map((v) => [v.name, v]));
  return (spec?.containers ?? []).flatMap((c) =>
    (c.volumeMounts ?? []).map((m) => ({
      container: c.name,
      path: m.mountPath,
      volume: m.name,
      source: `${source(volumes.get(m.name))}${m.subPath ? ` (subPath ${m.subPath})` : ''}`,
      readOnly: Boolean(m.readOnly),
    })),
  );
}

export function containersOf(pods: FullPod[]): Description['containers'] {
  return pods.flatMap((pod) => {
    const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
    return (pod.spec?.containers ?? []).map((c) => {
      const s = statuses.get(c.name);
      const st = s?.state;
      const state = st?.running ? 'running' : st?.terminated ? 'terminated' : st?.waiting ? 'waiting' : 'unknown';
      const reason = st?.waiting?.reason ?? st?.terminated?.reason;
      const last = s?.lastState?.terminated as { reason?: string; exitCode?: number; finishedAt?: string } | undefined;
      return {
        pod: pod.metadata?.name ?? '',
        name: c.name,
        image: c.image,
        state,
        ...(reason ? { reason } : {}),
        ...(st?.terminated?.exitCode !== undefined ? { exitCode: st.terminated.exitCode } : {}),
        ready: Boolean(s?.ready),
        restarts: s?.restartCount ?? 0,
        ...(last
          ? {
              lastTermination: {
                ...(last.reason ? { reason: last.reason } : {}),
                ...(last.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
                ...(last.finishedAt ? { finishedAt: last.finishedAt } : {}),
              },
            }
          : {}),
      };
    });
  });
}

export function conditionsOf(obj: { status?: unknown }): Description['conditions'] {
  return ((obj.status as StatusConditions | undefined)?.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  }));
}

export async function eventsAbout(
  client: KubeClient,
  ns: string,
  objects: { kind: string; name: string }[],
): Promise<EventSummary[]> {
  const wanted = new Set(objects.map((o) => `${o.kind}/${o.name}`));
  const all = (await client.list<EventObject>(`/api/v1/namespaces/${ns}/events`)).items.map(summarizeEvent);
  return sortEvents(all.filter((e) => wanted.has(`${e.object.kind}/${e.object.name}`))).slice(-recentEvents);
}

export const podRefs = (pods: PodObject[]) => pods.map((p) => ({ kind: 'Pod', name: p.metadata?.name ?? '' }));

/**
 * NAME is a deployment, or a pod (full or short name), tried in that order, or only the `kind`
 * given (`describe pod/NAME`); a run is described by runs/catalog/describe.ts.
 */
export async function describe(
  client: KubeClient,
  name: string,
  ns = stackNamespace,
  kind?: 'Deployment' | 'Pod',
): Promise<Description> {
  const [deployments, pods] = await Promise.all([listDeployments(client, ns), listPods(client, ns)]);
  const known = deployments.map((d) => d.metadata?.name).join(', ');
  const deployment = (kind === 'Pod' ? undefined : deployments.find((d) => d.metadata?.name === name)) as
    | (DeploymentObject & WithTemplate)
    | undefined;
  if (!deployment && kind === 'Deployment')
    throw new KeystoneError(`no deployment "${name}" in namespace ${ns}${known ? `; deployments: ${known}` : ''}`);
  if (deployment) {
    const selector = selectorOf(deployment);
    const own = pods.filter((p) => matchesLabels(p, selector)) as FullPod[];
    const sets = (await client.list(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items.filter(
      (rs) => rs.metadata?.name?.startsWith(`${name}-`) && matchesLabels(rs, selector),
    );
    const want = deployment.spec?.replicas ?? 1;
    const ready = deployment.status?.readyReplicas ?? 0;
    const revision = deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'];
    return {
      kind: 'Deployment',
      name,
      status: `${ready}/${want} ready, ${deployment.status?.updatedReplicas ?? 0} up to date${revision ? `, revision ${revision}` : ''}`,
      healthy: ready >= want && own.every((p) => summarizePod(p).healthy),
      conditions: conditionsOf(deployment),
      containers: containersOf(own),
      mounts: mountsOf(deployment.spec?.template?.spec),
      events: await eventsAbout(client, ns, [
        { kind: 'Deployment', name },
        ...sets.map((s) => ({ kind: 'ReplicaSet', name: s.metadata?.name ?? '' })),
        ...podRefs(own),
      ]),
    };
  }
  const matches = pods.filter((p) => p.metadata?.name === name || shortPodName(p) === name) as FullPod[];
  const pod = matches.find((p) => p.metadata?.name === name) ?? (matches.length === 1 ? matches[0] : undefined);
  if (!pod) {
    if (matches.length > 1)
      throw new KeystoneError(
        `"${name}" names ${matches.length} pods: ${matches.map((p) => p.metadata?.name).join(', ')}`,
        { hint: 'use the full pod name from `keystone pods`' },
      );
    throw new KeystoneError(
      kind === 'Pod'
        ? `no pod "${name}" in namespace ${ns}`
        : `no deployment, pod or run "${name}" in namespace ${ns}${known ? `; deployments: ${known}` : ''}`,
      { hint: '`keystone pods` lists the pods, `keystone jobs` the runs' },
    );
  }
  const summary = summarizePod(pod);
  return {
    kind: 'Pod',
    name: pod.metadata?.name ?? name,
    status: `${summary.status}, ${summary.ready} ready${summary.node ? `, on ${summary.node}` : ''}${summary.message ? `: ${summary.message}` : ''}`,
    healthy: summary.healthy,
    conditions: conditionsOf(pod),
    containers: containersOf([pod]),
    mounts: mountsOf(pod.spec),
    events: await eventsAbout(client, ns, podRefs([pod])),
  };
}
