/**
 * Where a cluster's images live, remembered in the cluster itself (ConfigMap keystone-images in
 * the keystone namespace), so everyone using the cluster gets the same answer: the registry
 * keystone pushes to, the prefix the nodes pull from (for the k3d cluster another name for the
 * same registry: localhost:5000 from this machine, keystone-registry:5000 inside the cluster),
 * and per image the reference and digest `keystone push-images` pushed. Runs pin those images by
 * that digest (images/pin.ts) and `setup`/`apply` give the stack's deployments those references,
 * so nothing needs --image.
 */
import { KubeApiError, type KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { labels, labelValue } from '../vocabulary.js';
import { normalizeImage } from './image-names.js';

export const imageRecordName = 'keystone-images';

export interface PushedImage {
  /** The reference the nodes pull, with its tag: keystone-registry:5000/keystone/lammps:0.1.0. */
  ref: string;
  digest: string;
  pushedAt: string;
}

export interface ImageRecord {
  /** Where keystone pushes (from this machine): localhost:5000, ghcr.io/lab. */
  pushTo: string;
  /** What the nodes pull from: keystone-registry:5000, ghcr.io/lab. */
  pullFrom: string;
  /** By the image's name in images/compose.yaml. */
  images: Record<string, PushedImage>;
}

type RecordObject = KubeObject & { data?: Record<string, string> };

const path = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;

/** The record, or undefined when the cluster has none (or keystone may not read it). */
export async function readImageRecord(client: KubeClient, ns: string): Promise<ImageRecord | undefined> {
  let object: RecordObject;
  try {
    object = await client.request<RecordObject>({ path: path(ns, imageRecordName) });
  } catch (err) {
    if (err instanceof KubeApiError && (err.statusCode === 404 || err.statusCode === 403)) return undefined;
    throw err;
  }
  const data = object.data ?? {};
  if (!data.pushTo || !data.pullFrom) return undefined;
  let images: Record<string, PushedImage> = {};
  try {
    images = JSON.parse(data.images ?? '{}') as Record<string, PushedImage>;
  } catch {
    images = {};
  }
  return { pushTo: data.pushTo, pullFrom: data.pullFrom, images };
}

/** Creates or replaces the record (a replace carries the resourceVersion read: a concurrent change is a conflict, not lost). */
export async function writeImageRecord(client: KubeClient, ns: string, record: ImageRecord): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: imageRecordName,
      namespace: ns,
      labels: { [labels.partOf]: labelValue, [labels.managedBy]: labelValue },
    },
    data: { pushTo: record.pushTo, pullFrom: record.pullFrom, images: JSON.stringify(record.images, null, 2) },
  };
  let existing: RecordObject | undefined;
  try {
    existing = await client.request<RecordObject>({ path: path(ns, imageRecordName) });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
  }
  if (existing) {
    await client.request({
      method: 'PUT',
      path: path(ns, imageRecordName),
      body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } },
      retry: false,
    });
  } else {
    await client.request({ method: 'POST', path: path(ns), body, retry: false });
  }
}

/** The pushed reference and digest of an image the record has (by its compose name), for pinning. */
export function rememberedIn(
  record: ImageRecord | undefined,
): ((image: string) => { ref: string; digest: string } | undefined) | undefined {
  if (!record) return undefined;
  const byName = new Map(
    Object.entries(record.images).flatMap(([name, pushed]) => [
      [normalizeImage(name), pushed] as const,
      [normalizeImage(pushed.ref), pushed] as const,
    ]),
  );
  return (image) => byName.get(normalizeImage(image));
}

interface PodSpecLike {
  containers?: { image?: string }[];
  initContainers?: { image?: string }[];
}

/**
 * The stack's objects with each image the record has replaced by its pushed reference and digest
 * (repo@sha256:…), in every pod template (Deployments, StatefulSets, Jobs). Not in the simulation
 * templates: a run resolves its image through the record when it is submitted (images/pin.ts),
 * so runs take the latest push without an apply, and each run records the digest it ran.
 */
export function withPushedImages<T extends { object: KubeObject }>(
  manifests: readonly T[],
  record: ImageRecord | undefined,
): T[] {
  const remembered = rememberedIn(record);
  if (!remembered) return [...manifests];
  return manifests.map((m) => {
    if (m.object.metadata?.labels?.[labels.template] !== undefined) return m;
    const spec = (m.object as { spec?: { template?: { spec?: PodSpecLike } } }).spec?.template?.spec;
    if (!spec) return m;
    const object = structuredClone(m.object) as KubeObject & { spec: { template: { spec: PodSpecLike } } };
    for (const c of [
      ...(object.spec.template.spec.containers ?? []),
      ...(object.spec.template.spec.initContainers ?? []),
    ]) {
      const pushed = c.image ? remembered(c.image) : undefined;
      if (pushed) c.image = `${pushed.ref.replace(/:[^:/]+$/, '')}@${pushed.digest}`;
    }
    return { ...m, object };
  });
}
