/**
 * Watching a claim's provisioning while a helper pod waits for it: the only prompt signal that a
 * class cannot provision the claim is the provisioner's ProvisioningFailed Warning event on it.
 *
 * Why not the pod: rancher/local-path-provisioner (provisioner.go) refuses a ReadWriteMany claim
 * ("NodePath only supports ReadWriteOnce ...") with a final error, and CSI drivers refusing an
 * access mode (EBS, PD: InvalidArgument) do too; kubernetes-sigs/sig-storage-lib-external-provisioner
 * (controller.go) removes the claim's selected-node annotation only on ProvisioningReschedule, and
 * the scheduler (kubernetes pkg/scheduler/framework/plugins/volumebinding/binder.go, checkBindings)
 * says "provisioning failed for PVC" only when that annotation is gone. Otherwise the pod just stays
 * Pending while the scheduler's PreBind waits (bindTimeout, 600 s) and retries for ever.
 */
import { KeystoneError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { watchUntil, WaitTimeoutError, type Clock } from '../../kube/watch-until.js';
import { claimPath, getOrUndefined, type ClaimObject } from './claim.js';
import type { KubeObject } from '../../kube/objects.js';

/** The volume could not be provisioned for the pod (e.g. ReadWriteMany on a class without it). */
export class ClaimProvisioningError extends KeystoneError {}

/** How long a claim may wait without any provisioner saying anything about it (no default class...). */
export const claimNoAnswerMs = 120_000;

type ClaimEvent = KubeObject & {
  type?: string;
  reason?: string;
  message?: string;
  source?: { component?: string };
  reportingComponent?: string;
};

/** The PersistentVolume controller's own events (WaitForFirstConsumer, ExternalProvisioning, FailedBinding) are not a provisioner's answer. */
const pvController = 'persistentvolume-controller';
const fromProvisioner = (e: ClaimEvent) =>
  (e.source?.component || e.reportingComponent || pvController) !== pvController;
const failed = (e: ClaimEvent) => e.type === 'Warning' && e.reason === 'ProvisioningFailed';

export interface ClaimWatch {
  client: KubeClient;
  namespace: string;
  claim: string;
  signal: AbortSignal;
  /** How long to wait at most for anything from a provisioner. */
  noAnswerMs?: number;
  /** How long to watch for a refusal after the provisioner answered. */
  timeoutMs: number;
  clock?: Clock;
}

/** Where a claim's events are listed: the events path, and the selector for that claim's own. */
function claimEvents(namespace: string, claim: string) {
  return {
    path: `/api/v1/namespaces/${namespace}/events`,
    query: { fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${claim}` },
  };
}

/** The provisioner's words on why a claim was not provisioned (its last ProvisioningFailed event). */
export async function provisioningFailure(
  client: KubeClient,
  namespace: string,
  claim: string,
): Promise<string | undefined> {
  const { path, query } = claimEvents(namespace, claim);
  return (await client.list<ClaimEvent>(path, query)).items.filter(failed).at(-1)?.message;
}

/**
 * Resolves with the error that stops the wait (the claim's class refused it, or nobody provisions
 * it), or undefined when there is none to report (bound, gone, stopped through `signal`).
 */
export async function claimProvisioningProblem(w: ClaimWatch): Promise<KeystoneError | undefined> {
  const pending = async () => {
    const claim = await getOrUndefined<ClaimObject>(w.client, claimPath(w.namespace, w.claim));
    return claim && claim.status?.phase !== 'Bound' ? claim : undefined;
  };
  if (!(await pending())) return undefined;
  let seen: ClaimEvent[] = [];
  const { path: eventsPath, query: eventsQuery } = claimEvents(w.namespace, w.claim);
  const watchEvents = (timeoutMs: number, until: (events: ClaimEvent[]) => boolean) =>
    watchUntil<ClaimEvent>({
      client: w.client,
      path: eventsPath,
      query: eventsQuery,
      what: `a storage provisioner to answer for volume ${w.claim}`,
      timeoutMs,
      clock: w.clock,
      signal: w.signal,
      evaluate: (events) => {
        seen = events;
        return { done: until(events), progress: `volume ${w.claim}: ${events.at(-1)?.reason ?? 'no events'}` };
      },
    });
  try {
    await watchEvents(w.noAnswerMs ?? claimNoAnswerMs, (events) => events.some(fromProvisioner));
  } catch (err) {
    if (w.signal.aborted) return undefined;
    if (!(err instanceof WaitTimeoutError)) throw err;
    if (!(await pending())) return undefined;
    // The deadline is judged on the events as they are now, not on how far the watch got.
    seen = (await w.client.list<ClaimEvent>(eventsPath, eventsQuery)).items;
  }
  if (!seen.some(fromProvisioner)) {
    const last = seen.at(-1)?.message;
    return new KeystoneError(
      `volume ${w.claim} is still Pending: no storage provisioner has answered for it${last ? ` (last event: ${last})` : ''}`,
      {
        hint: `check the cluster has a default StorageClass (\`kubectl get storageclass\`) whose provisioner is running; \`kubectl describe pvc ${w.claim} -n ${w.namespace}\` shows what it waits for`,
      },
    );
  }
  try {
    if (!seen.some(failed)) await watchEvents(w.timeoutMs, (events) => events.some(failed));
  } catch (err) {
    if (w.signal.aborted || err instanceof WaitTimeoutError) return undefined;
    throw err;
  }
  // A refused ReadWriteMany claim is final (no reschedule); other failures (quota, a busy
  // backend) the provisioner retries, and the pod's own wait reports them.
  const claim = await pending();
  if (!claim?.spec?.accessModes?.includes('ReadWriteMany')) return undefined;
  const why = seen.filter(failed).at(-1)?.message ?? 'ProvisioningFailed';
  return new ClaimProvisioningError(`volume ${w.claim} could not be provisioned: ${why}`);
}
