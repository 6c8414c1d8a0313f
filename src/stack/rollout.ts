/**
 * Waiting until the stack is up: every Deployment's rollout complete in the sense of
 * `kubectl rollout status`, every PersistentVolumeClaim Bound; and stopping early, with the
 * pod, the reason and a hint, when a pod cannot start.
 */
import { KeystoneError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { watchUntil, type Clock, type Verdict } from '../kube/watch-until.js';
import { normalizeImage, repositoryOf } from '../images/image-names.js';
import { labels } from '../vocabulary.js';
import type { DeploymentObject, KubeObject, PodObject } from '../kube/objects.js';

/** The verdict `kubectl rollout status deployment/NAME` gives, as text, or done. */
export function rolloutStatus(d: DeploymentObject): { done: boolean; message: string; failed?: string } {
  const name = d.metadata?.name ?? '';
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (s.observedGeneration ?? 0))
    return { done: false, message: `${name}: waiting for the rollout to be observed` };
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      done: false,
      message: `${name}: rollout failed`,
      failed: `deployment "${name}" exceeded its progress deadline`,
    };
  }
  const updated = s.updatedReplicas ?? 0;
  const total = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < want) return { done: false, message: `${name} ${updated}/${want} updated` };
  if (total > updated) return { done: false, message: `${name}: ${total - updated} old replicas pending termination` };
  if (available < updated) return { done: false, message: `${name} ${available}/${want} ready` };
  return { done: true, message: `${name} ${available}/${want} ready` };
}

const stuckReasons: Record<string, string> = {
  ErrImagePull: 'the image cannot be pulled',
  ImagePullBackOff: 'the image cannot be pulled',
  ErrImageNeverPull: 'the image is not on the node',
  InvalidImageName: 'the image name is invalid',
  CrashLoopBackOff: 'the container keeps crashing',
  CreateContainerConfigError: 'the container cannot be configured',
  CreateContainerError: 'the container cannot be created',
  RunContainerError: 'the container cannot be started',
};

export interface PodProblem {
  pod: string;
  container?: string;
  reason: string;
  message: string;
  hint: string;
}

/** Why a pod cannot start, or undefined while it is fine or still starting normally. */
export function podProblem(
  pod: PodObject,
  localImages: readonly string[] = [],
  reach: 'import' | 'push' = 'import',
): PodProblem | undefined {
  const name = pod.metadata?.name ?? '';
  const unschedulable = pod.status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
  if (unschedulable) {
    return {
      pod: name,
      reason: 'Unschedulable',
      message: unschedulable.message ?? '',
      hint: 'no node can take the pod: check `keystone status` for NotReady nodes, or lower its resource requests',
    };
  }
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const reason = cs.state?.waiting?.reason;
    if (!reason || !(reason in stuckReasons)) continue;
    const image = cs.image ?? '';
    // import-images knows exactly the images in images/compose.yaml: only those get its hint.
    const built = localImages.find((i) => normalizeImage(i) === normalizeImage(image));
    const sameRepository = localImages.filter((i) => repository(i) === repository(image));
    const hint = reason.includes('Image')
      ? built
        ? reach === 'import'
          ? `${image} is built locally: run \`keystone import-images\` to put it into the cluster`
          : `${image} is built locally and this cluster cannot pull it: push it to a registry the cluster pulls from (\`keystone push-images --context <ctx> --registry HOST/PATH\`, then \`keystone apply --context <ctx>\`)`
        : sameRepository.length
          ? `${image} is not an image keystone builds (images/compose.yaml has ${sameRepository.join(', ')}): use one of those, or add it to images/compose.yaml and run \`keystone import-images\``
          : `check the image name and tag of container ${cs.name}, and that the nodes can reach its registry`
      : reason === 'CrashLoopBackOff'
        ? `see why with \`kubectl --context <ctx> logs -n ${pod.metadata?.namespace} ${name} -c ${cs.name} --previous\``
        : 'describe the pod with kubectl for details';
    return {
      pod: name,
      container: cs.name,
      reason,
      message: cs.state?.waiting?.message ?? stuckReasons[reason] ?? '',
      hint,
    };
  }
  return undefined;
}

/** "keystone-celery-worker:0.2.0" and "docker.io/library/keystone-celery-worker:0.1.0" share a repository. */
const repository = repositoryOf;

export interface StackWaitOptions {
  namespace: string;
  deployments: string[];
  claims: string[];
  /** Images built locally (so a pull failure means "import them"). */
  localImages: string[];
  /** How those images get into the cluster: `keystone import-images` (the k3d cluster) or a registry push (any other). */
  localImagesReach?: 'import' | 'push';
  timeoutMs: number;
  onProgress?: (text: string) => void;
  signal?: AbortSignal;
  clock?: Clock;
  /** Only these pods' problems end the wait (default: every non-simulation pod of the namespace). */
  podFilter?: (pod: PodObject) => boolean;
}

export async function waitForStack(client: KubeClient, options: StackWaitOptions): Promise<void> {
  const stop = new AbortController();
  const outer = () => stop.abort();
  options.signal?.addEventListener('abort', outer);
  const progress = { deployments: '', claims: '' };
  const report = () => options.onProgress?.([progress.deployments, progress.claims].filter(Boolean).join('; '));
  const ns = options.namespace;
  const wanted = new Set(options.deployments);
  const claims = new Set(options.claims);

  // The deployments and the volumes are watched the same way; only what is read differs.
  const watch = <T extends KubeObject>(
    path: string,
    what: string,
    key: keyof typeof progress,
    evaluate: (items: T[]) => Verdict,
  ) =>
    watchUntil<T>({
      client,
      path,
      what,
      timeoutMs: options.timeoutMs,
      signal: stop.signal,
      clock: options.clock,
      onProgress: (p) => {
        progress[key] = p;
        report();
      },
      evaluate,
    });
  const deployments = watch<DeploymentObject>(
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    'the deployments to be ready',
    'deployments',
    (items) => {
      const relevant = items.filter((d) => wanted.has(d.metadata?.name ?? ''));
      const statuses = relevant.map(rolloutStatus);
      const failed = statuses.find((s) => s.failed);
      if (failed)
        return {
          done: false,
          progress: failed.message,
          failure: new KeystoneError(failed.failed!, { hint: 'see `keystone status` and the pod events' }),
        };
      const ready = statuses.filter((s) => s.done).length;
      const pending = statuses.filter((s) => !s.done).map((s) => s.message);
      return {
        done: relevant.length === wanted.size && ready === wanted.size,
        progress: `deployments ${ready}/${wanted.size} ready${pending.length ? ` (${pending.join(', ')})` : ''}`,
      };
    },
  );
  const volumes = watch<KubeObject & { status?: { phase?: string } }>(
    `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
    'the volumes to be bound',
    'claims',
    (items) => {
      const bound = items.filter((c) => claims.has(c.metadata?.name ?? '') && c.status?.phase === 'Bound').length;
      return { done: bound === claims.size, progress: claims.size ? `volumes ${bound}/${claims.size} bound` : '' };
    },
  );
  // Never done by itself: it only ends the wait early when a pod cannot start.
  const pods = watchUntil<PodObject>({
    client,
    path: `/api/v1/namespaces/${ns}/pods`,
    what: 'pods',
    timeoutMs: options.timeoutMs + 60_000,
    signal: stop.signal,
    clock: options.clock,
    evaluate: (items) => {
      for (const pod of items) {
        if (options.podFilter ? !options.podFilter(pod) : pod.metadata?.labels?.[labels.tool]) continue; // simulation runs report their own failures
        const problem = podProblem(pod, options.localImages, options.localImagesReach);
        if (problem) {
          return {
            done: false,
            progress: '',
            failure: new KeystoneError(
              `pod ${problem.pod} cannot start: ${problem.reason}${problem.message ? `: ${problem.message}` : ''}`,
              { hint: problem.hint },
            ),
          };
        }
      }
      return { done: false, progress: '' };
    },
  });
  pods.catch(() => undefined); // its outcome is read through the race below
  try {
    await Promise.race([Promise.all([deployments, volumes]), pods]);
  } finally {
    stop.abort();
    options.signal?.removeEventListener('abort', outer);
  }
}
