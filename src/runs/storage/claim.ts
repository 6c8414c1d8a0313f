/**
 * Which PersistentVolumeClaim holds a run's directory on another cluster. One shared claim,
 * `keystone-data`, ReadWriteMany so runs on any node share it, is created the first time; when
 * the cluster cannot provision ReadWriteMany (local-path, EBS, most block storage), each run gets
 * its own ReadWriteOnce claim instead, and that answer is remembered in the ConfigMap
 * `keystone-volume` so the next run does not try again.
 *
 * Why try rather than read the StorageClass: whether a class provisions ReadWriteMany is not in
 * its object (a provisioner name is only a hint, and CSI drivers differ by parameters); only the
 * provisioner's answer is reliable, and it comes as a ProvisioningFailed event on the claim once the
 * first pod is scheduled (claim-provisioning.ts watches for it).
 */
import { KeystoneError } from '../../errors.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { labels, labelValue } from '../../vocabulary.js';
import type { KubeObject } from '../../kube/objects.js';

export const sharedClaimName = 'keystone-data';
export const volumeDecisionName = 'keystone-volume';
/** --volume-size when not given: the shared claim's size, or each per-run claim's. */
export const defaultVolumeSize = '10Gi';

export interface ClaimObject extends KubeObject {
  spec?: { accessModes?: string[]; resources?: { requests?: { storage?: string } }; storageClassName?: string };
  status?: { phase?: string };
}

/** The claim of one run, when runs cannot share one. */
export function perRunClaimName(jobName: string): string {
  return `${jobName}-data`;
}

export type SharedState = 'shared' | 'absent' | 'per-run';

/** A claim's API path. */
export const claimPath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`;

/** The object at `path`, or undefined when there is none (404). */
export async function getOrUndefined<T>(
  client: KubeClient,
  path: string,
  o: { cleanup?: boolean } = {},
): Promise<T | undefined> {
  try {
    return await client.request<T>({ path, ...o });
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
    throw err;
  }
}

/** Whether runs share `keystone-data`, it is still to be made, or runs get their own claim. */
export async function sharedClaimState(client: KubeClient, namespace: string): Promise<SharedState> {
  const claim = await getOrUndefined<ClaimObject>(client, claimPath(namespace, sharedClaimName));
  if (claim) return claim.spec?.accessModes?.includes('ReadWriteMany') ? 'shared' : 'per-run';
  const decision = await getOrUndefined<KubeObject & { data?: Record<string, string> }>(
    client,
    `/api/v1/namespaces/${namespace}/configmaps/${volumeDecisionName}`,
  );
  return decision?.data?.accessMode === 'ReadWriteOnce' ? 'per-run' : 'absent';
}

/** Whether a claim has its volume (a missing claim has not). */
/** Read while cleaning up after a failed or interrupted upload: a cleanup request (Ctrl-C gives it 2 s). */
export async function claimBound(client: KubeClient, namespace: string, name: string): Promise<boolean> {
  const claim = await getOrUndefined<ClaimObject>(client, claimPath(namespace, name), { cleanup: true });
  return claim?.status?.phase === 'Bound';
}

export async function createClaim(
  client: KubeClient,
  namespace: string,
  name: string,
  o: { size: string; accessMode: 'ReadWriteMany' | 'ReadWriteOnce'; labels?: Record<string, string> },
): Promise<void> {
  const body: ClaimObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels: { [labels.partOf]: labelValue, [labels.managedBy]: labelValue, ...o.labels } },
    // No storageClassName: the cluster's default class.
    spec: { accessModes: [o.accessMode], resources: { requests: { storage: o.size } } },
  };
  try {
    await client.request({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
      body,
      retry: false,
    });
  } catch (err) {
    // Another keystone made the shared claim at the same moment: use it.
    if (err instanceof KubeApiError && err.statusCode === 409 && name === sharedClaimName) return;
    if (err instanceof KubeApiError && err.statusCode === 403) {
      throw new KeystoneError(
        `cannot create the run volume (PersistentVolumeClaim ${name} in namespace ${namespace}): ${err.message}`,
        {
          hint: 'your user needs permission to create persistentvolumeclaims and pods (and pods/exec) in that namespace',
        },
      );
    }
    throw err;
  }
}

export async function deleteClaim(client: KubeClient, namespace: string, name: string): Promise<void> {
  try {
    await client.request({ method: 'DELETE', path: claimPath(namespace, name), retry: true, cleanup: true });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
  }
}

/** Remembers that this cluster cannot share one claim between runs (and why). */
export async function rememberPerRunClaims(client: KubeClient, namespace: string, reason: string): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: volumeDecisionName,
      namespace,
      labels: { [labels.partOf]: labelValue, [labels.managedBy]: labelValue },
    },
    data: { accessMode: 'ReadWriteOnce', reason },
  };
  try {
    await client.request({ method: 'POST', path: `/api/v1/namespaces/${namespace}/configmaps`, body, retry: false });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
  }
}
