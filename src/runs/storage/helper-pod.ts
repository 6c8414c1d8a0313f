/**
 * A short-lived helper pod that mounts a run volume (a PersistentVolumeClaim) so keystone can
 * reach it through pods/exec: upload an input, delete outputs, read them back. It uses the
 * simulation's own image (the cluster already pulls it for runs; it has sh and tar), satisfies
 * the Pod Security `restricted` level, and is always deleted afterwards, on failure and Ctrl-C
 * too; if keystone is killed outright, its activeDeadlineSeconds and `sleep` end it anyway.
 */
import { KeystoneError } from '../../errors.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { watchUntil, type Clock } from '../../kube/watch-until.js';
import { ClaimProvisioningError, claimProvisioningProblem } from './claim-provisioning.js';
import { labels, labelValue } from '../../vocabulary.js';
import { podProblem } from '../../stack/rollout.js';
import { simulationContainer } from '../build/job.js';
import { sharedClaimName } from './claim.js';
import type { KubeObject, PodObject, JobObject } from '../../kube/objects.js';
import { nodeState, volumeNodeProblem, VolumeNodeError } from './volume-node.js';
import { explainUnschedulable } from '../catalog/list.js';

/** Where the helper mounts the whole volume. */
export const helperMount = '/keystone-data';
/** How long a helper pod may live at most (seconds): a safety net, not a working limit. */
const helperLifetimeSeconds = 6 * 3600;
export const helperLabel = 'keystone.io/volume-helper';

export { ClaimProvisioningError } from './claim-provisioning.js';

export interface HelperSpec {
  client: KubeClient;
  namespace: string;
  claim: string;
  /** What the helper is for (its name and label): upload, purge, fetch. */
  purpose: string;
  runId: string;
  /** The run's Job (or as it will be built): its image, pull policy, uid/gid, pull secrets and scheduling. */
  from: JobObject;
  /**
   * Ask for the run's CPU and memory too: the helper that first mounts a WaitForFirstConsumer
   * ReadWriteOnce claim decides its node (local-path) or zone (EBS, PD) for good, so it must land
   * where the run fits.
   */
  sizedLikeRun?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** How long the claim may wait without a word from any provisioner (claim-provisioning.ts). */
  noAnswerMs?: number;
  clock?: Clock;
  onProgress?: (text: string) => void;
}

/** The uid/gid a run's pod writes as: the template's (pod level), else 1000. */
export function runIdentity(from: JobObject): { uid: number; gid: number } {
  const sc = (from.spec.template.spec.securityContext ?? {}) as { runAsUser?: number; runAsGroup?: number };
  const uid = typeof sc.runAsUser === 'number' && sc.runAsUser > 0 ? sc.runAsUser : 1000;
  return { uid, gid: typeof sc.runAsGroup === 'number' ? sc.runAsGroup : uid };
}

/** The pod object: restricted-level security, the claim at /keystone-data, a bounded life. */
export function helperPodObject(spec: HelperSpec, nodeName?: string): KubeObject {
  const container = simulationContainer(spec.from.spec.template.spec.containers);
  if (!container) throw new KeystoneError(`Job ${spec.from.metadata?.name} has no container to take an image from`);
  const { uid, gid } = runIdentity(spec.from);
  const pod = spec.from.spec.template.spec as Record<string, unknown>;
  // What lets the run's pod pull its image and land on its nodes lets the helper too.
  const scheduling = Object.fromEntries(
    ['imagePullSecrets', 'serviceAccountName', 'nodeSelector', 'tolerations', 'affinity']
      .filter((k) => pod[k] !== undefined)
      .map((k) => [k, structuredClone(pod[k])]),
  );
  const runResources = container.resources?.requests
    ? {
        requests: { ...container.resources.requests },
        ...(container.resources.limits ? { limits: { ...container.resources.limits } } : {}),
      }
    : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `keystone-${spec.purpose}-`,
      namespace: spec.namespace,
      labels: {
        [labels.partOf]: labelValue,
        [labels.managedBy]: labelValue,
        [helperLabel]: spec.purpose,
        [labels.runId]: spec.runId,
      },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      activeDeadlineSeconds: helperLifetimeSeconds,
      ...scheduling,
      ...(nodeName ? { nodeName } : {}),
      terminationGracePeriodSeconds: 0,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'helper',
          image: container.image,
          ...(container.imagePullPolicy ? { imagePullPolicy: container.imagePullPolicy } : {}),
          command: ['sleep', String(helperLifetimeSeconds)],
          resources: (spec.sizedLikeRun && runResources) || {
            requests: { cpu: '10m', memory: '32Mi' },
            limits: { cpu: '1', memory: '256Mi' },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [{ name: 'data', mountPath: helperMount }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: spec.claim } }],
    },
  };
}

/** Creates the helper pod, waits until it runs, hands its name to `use`, and deletes it. */
export async function withHelperPod<T>(spec: HelperSpec, use: (pod: string) => Promise<T>): Promise<T> {
  const { client, namespace } = spec;
  let nodeName: string | undefined;
  if (spec.claim !== sharedClaimName) {
    // A run's own volume on a node that is gone or NotReady: say so now, not after timeoutMs.
    const problem = await volumeNodeProblem(client, namespace, spec.claim, spec.runId);
    if (problem) throw problem;
    nodeName = await nodeOfRunPod(spec);
    // A run pod still listed on a node whose kubelet is gone: a helper pinned there would never start.
    if (nodeName && (await nodeState(client, nodeName)).state !== 'Ready') nodeName = undefined;
  }
  let created: PodObject;
  try {
    created = await client.request<PodObject>({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/pods`,
      body: helperPodObject(spec, nodeName),
      retry: false,
    });
  } catch (err) {
    // Ctrl-C (or a lost connection) while the create was on its way: the API server may have made
    // the pod and the answer, with its generated name, never came. Found by its labels instead.
    await deleteHelpersOfRun(client, namespace, spec).catch(() => undefined);
    throw err;
  }
  const name = created.metadata?.name ?? '';
  const timeoutMs = spec.timeoutMs ?? 10 * 60_000;
  let failure: unknown;
  try {
    // The claim is watched beside the pod: a provisioner's refusal shows only on the claim.
    const stopClaimWatch = new AbortController();
    const claimFound = new AbortController();
    let claimError: KeystoneError | undefined;
    const claimWatch = claimProvisioningProblem({
      client,
      namespace,
      claim: spec.claim,
      signal: stopClaimWatch.signal,
      noAnswerMs: spec.noAnswerMs,
      timeoutMs,
      clock: spec.clock,
    }).then(
      (problem) => {
        claimError = problem;
        if (problem) claimFound.abort();
      },
      () => undefined, // the pod's own wait still reports what it sees
    );
    try {
      await watchUntil<PodObject>({
        client,
        path: `/api/v1/namespaces/${namespace}/pods`,
        query: { fieldSelector: `metadata.name=${name}` },
        what: `helper pod ${name} to start`,
        timeoutMs,
        clock: spec.clock,
        signal: spec.signal ? AbortSignal.any([spec.signal, claimFound.signal]) : claimFound.signal,
        onProgress: spec.onProgress,
        evaluate: ([pod]) => {
          if (!pod)
            return {
              done: false,
              progress: `helper pod ${name}: gone`,
              failure: new KeystoneError(`helper pod ${name} was deleted before it started`),
            };
          if (pod.status?.phase === 'Running') return { done: true, progress: `helper pod ${name} running` };
          // The scheduler says this only when the provisioner asked for another node (ProvisioningReschedule).
          const scheduling = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
          if (scheduling?.message?.includes('provisioning failed for PVC')) {
            return {
              done: false,
              progress: 'volume not provisioned',
              failure: new ClaimProvisioningError(
                `volume ${spec.claim} could not be provisioned: ${scheduling.message}`,
              ),
            };
          }
          // A claim without a class on a cluster without a default one: the scheduler treats it as
          // Immediate binding (kubernetes pkg/scheduler/framework/plugins/volumebinding/volume_binding.go PreFilter).
          if (
            scheduling?.reason === 'Unschedulable' &&
            scheduling.message?.includes('unbound immediate PersistentVolumeClaims')
          ) {
            return {
              done: false,
              progress: 'volume not bound',
              failure: new KeystoneError(
                `volume ${spec.claim} is not bound and nothing provisions it: ${scheduling.message}`,
                {
                  hint: `the cluster needs a default StorageClass (\`kubectl get storageclass\`: one marked "(default)"); \`kubectl describe pvc ${spec.claim} -n ${namespace}\` shows what it waits for`,
                },
              ),
            };
          }
          const volumeWords =
            scheduling?.reason === 'Unschedulable' ? explainUnschedulable(scheduling.message ?? '') : undefined;
          if (volumeWords)
            return {
              done: false,
              progress: 'volume node',
              failure: new VolumeNodeError(`helper pod ${name} cannot start: ${volumeWords}`, {
                hint: `\`kubectl describe pvc ${spec.claim} -n ${namespace}\` shows the volume; try again once its node can take the pod`,
              }),
            };
          const problem = podProblem(pod, [], 'push');
          if (problem)
            return {
              done: false,
              progress: problem.reason,
              failure: new KeystoneError(`helper pod ${name} cannot start: ${problem.reason}: ${problem.message}`, {
                hint: problem.hint,
              }),
            };
          return { done: false, progress: `helper pod ${name}: ${pod.status?.phase ?? 'Pending'}` };
        },
      });
    } catch (err) {
      if (claimError && !spec.signal?.aborted) throw claimError;
      throw err;
    } finally {
      stopClaimWatch.abort();
      await claimWatch;
    }
    return await use(name);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    // A failed DELETE must not hide why the helper failed: it is told after it (the pod's
    // activeDeadlineSeconds ends it anyway). The error keeps its class (ClaimProvisioningError).
    await deleteHelperPod(client, namespace, name).catch((err: unknown) => {
      if (!(failure instanceof Error)) throw err;
      failure.message += `; helper pod ${name} could not be deleted either (${err instanceof Error ? err.message : String(err)}): it ends itself within ${helperLifetimeSeconds / 3600} hours`;
    });
  }
}

/**
 * The node of a run pod that still holds the run's own ReadWriteOnce claim: a helper elsewhere
 * would wait on "Multi-Attach error" (an EBS/PD disk attaches to one node at a time) until it ends.
 */
async function nodeOfRunPod(spec: HelperSpec): Promise<string | undefined> {
  type RunPod = PodObject & { spec?: { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } };
  const pods = await spec.client.list<RunPod>(`/api/v1/namespaces/${spec.namespace}/pods`, {
    labelSelector: `${labels.runId}=${spec.runId},!${helperLabel}`,
  });
  const holder = pods.items.find(
    (p) =>
      p.spec?.nodeName &&
      !['Succeeded', 'Failed'].includes(p.status?.phase ?? '') &&
      (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === spec.claim),
  );
  return holder?.spec?.nodeName;
}

/** Deletes this run's helper pods for this purpose, whatever their names. */
async function deleteHelpersOfRun(client: KubeClient, namespace: string, spec: HelperSpec): Promise<void> {
  const found = await client.request<{ items: PodObject[] }>({
    path: `/api/v1/namespaces/${namespace}/pods`,
    query: { labelSelector: `${helperLabel}=${spec.purpose},${labels.runId}=${spec.runId}` },
    retry: true,
    cleanup: true,
  });
  for (const pod of found.items) if (pod.metadata?.name) await deleteHelperPod(client, namespace, pod.metadata.name);
}

async function deleteHelperPod(client: KubeClient, namespace: string, name: string): Promise<void> {
  try {
    await client.request({
      method: 'DELETE',
      path: `/api/v1/namespaces/${namespace}/pods/${name}`,
      query: { gracePeriodSeconds: 0 },
      retry: true,
      cleanup: true,
    });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
  }
}
