/**
 * A run's own ReadWriteOnce volume on a class that keeps it on one node's disk (local-path: the
 * PV it provisions has node affinity `kubernetes.io/hostname In [node]`, rancher/local-path-provisioner
 * provisioner.go), and whether that node can still serve it. Nothing holds room on the node between
 * the upload helper and the run's pod, and the scheduler retries a pod that cannot go there without
 * a word beyond its condition; a helper pinned to a node whose kubelet is gone waits for ever. This
 * tells, in seconds, which of these happened:
 *   - the node is gone (deleted) or NotReady: the volume's files cannot be reached until it is back;
 *   - the node has no room (the scheduler: "Insufficient cpu" beside "volume node affinity conflict",
 *     kubernetes pkg/scheduler/framework/plugins/volumebinding and noderesources): the run waits for it.
 */
import { KeystoneError } from '../../errors.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/objects.js';
import { claimPath, getOrUndefined, type ClaimObject } from './claim.js';
import type { RunSummary } from '../model.js';

type Expression = { key?: string; operator?: string; values?: string[] };
type VolumeObject = KubeObject & {
  spec?: { nodeAffinity?: { required?: { nodeSelectorTerms?: { matchExpressions?: Expression[] }[] } } };
};
type NodeObject = KubeObject & {
  status?: { conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[] };
};

const hostnameKey = 'kubernetes.io/hostname';

/** The one node a bound claim's volume lives on, or undefined (unbound, zonal, or its PV not readable). */
export async function volumeNodeOf(client: KubeClient, namespace: string, claim: string): Promise<string | undefined> {
  const pvc = await getOrUndefined<ClaimObject & { spec?: { volumeName?: string } }>(
    client,
    claimPath(namespace, claim),
  );
  const volumeName = pvc?.spec?.volumeName;
  if (!volumeName) return undefined;
  let pv: VolumeObject | undefined;
  try {
    pv = await client.request<VolumeObject>({ path: `/api/v1/persistentvolumes/${volumeName}` });
  } catch (err) {
    // PersistentVolumes are cluster-scoped: a user of one namespace may not read them.
    if (err instanceof KubeApiError && (err.statusCode === 403 || err.statusCode === 404)) return undefined;
    throw err;
  }
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  const hosts = terms.flatMap((t) =>
    (t.matchExpressions ?? [])
      .filter((e) => e.key === hostnameKey && e.operator === 'In')
      .flatMap((e) => e.values ?? []),
  );
  return terms.length === 1 && hosts.length === 1 ? hosts[0] : undefined;
}

export type NodeState = { state: 'Ready' } | { state: 'gone' } | { state: 'NotReady'; since?: string; reason?: string };

export async function nodeState(client: KubeClient, node: string): Promise<NodeState> {
  const found = await getOrUndefined<NodeObject>(client, `/api/v1/nodes/${node}`);
  if (!found) return { state: 'gone' };
  const ready = found.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { state: 'Ready' };
  return {
    state: 'NotReady',
    ...(ready?.lastTransitionTime ? { since: ready.lastTransitionTime } : {}),
    ...(ready?.reason ? { reason: ready.reason } : {}),
  };
}

/** The volume's node cannot serve it (gone, NotReady): nothing that needs the volume can start. */
export class VolumeNodeError extends KeystoneError {}

/** Why a claim's volume cannot be reached now (its node is gone or NotReady), or undefined. */
export async function volumeNodeProblem(
  client: KubeClient,
  namespace: string,
  claim: string,
  runId: string,
): Promise<VolumeNodeError | undefined> {
  const node = await volumeNodeOf(client, namespace, claim);
  if (!node) return undefined;
  const s = await nodeState(client, node);
  if (s.state === 'gone') {
    return new VolumeNodeError(
      `volume ${claim} is on node ${node}, which is gone from the cluster: its storage class keeps a volume's files on one node's disk, so nothing can reach them`,
      {
        hint: `if ${node} comes back under that name, try again; otherwise run ${runId}'s outputs are lost (\`keystone jobs clean --purge-outputs\` removes what is left of it)`,
      },
    );
  }
  if (s.state === 'NotReady') {
    return new VolumeNodeError(
      `volume ${claim} is on node ${node}, which is NotReady${s.since ? ` since ${s.since}` : ''}${s.reason ? ` (${s.reason})` : ''}: its files are reachable only through that node`,
      {
        hint: `wait until \`kubectl get node ${node}\` says Ready, then try again`,
      },
    );
  }
  return undefined;
}

/**
 * A Pending run on its own volume that cannot go to its volume's node (its reason from
 * explainUnschedulable): the node named, and whether it is gone or NotReady (then waiting will
 * not start it) or only full. For `keystone jobs`, after listRuns.
 */
export async function nameVolumeNodes(client: KubeClient, namespace: string, runs: RunSummary[]): Promise<void> {
  await Promise.all(
    runs.map(async (run) => {
      if (run.state !== 'Pending' || !run.outputVolume || !run.reason?.includes('its volume')) return;
      const node = await volumeNodeOf(client, namespace, run.outputVolume).catch(() => undefined);
      if (!node) return;
      const s = await nodeState(client, node).catch(() => undefined);
      if (s?.state === 'gone')
        run.reason = `cannot start: its volume is on node ${node}, which is gone from the cluster`;
      else if (s?.state === 'NotReady')
        run.reason = `cannot start until node ${node}, which holds its volume, is Ready again`;
      else run.reason = run.reason.replace('the node that holds its volume', `node ${node}, which holds its volume`);
    }),
  );
}
