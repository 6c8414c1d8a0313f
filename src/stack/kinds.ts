/**
 * The built-in kinds keystone applies, with their REST paths, so applying needs no discovery
 * requests. A kind not listed here is refused before anything is applied.
 */
export interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Loads the kubernetes-models class that validates it (static paths, so the bundler sees them). */
  model: () => Promise<Record<string, unknown>>;
}

const kinds: KindInfo[] = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    model: () => import('kubernetes-models/v1/Namespace'),
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespaced: true,
    model: () => import('kubernetes-models/v1/ConfigMap'),
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    namespaced: true,
    model: () => import('kubernetes-models/v1/Secret'),
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    model: () => import('kubernetes-models/v1/Service'),
  },
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    model: () => import('kubernetes-models/v1/PersistentVolumeClaim'),
  },
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    model: () => import('kubernetes-models/v1/ServiceAccount'),
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    model: () => import('kubernetes-models/apps/v1/Deployment'),
  },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    model: () => import('kubernetes-models/apps/v1/StatefulSet'),
  },
  {
    apiVersion: 'batch/v1',
    kind: 'Job',
    plural: 'jobs',
    namespaced: true,
    model: () => import('kubernetes-models/batch/v1/Job'),
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
    model: () => import('kubernetes-models/networking.k8s.io/v1/NetworkPolicy'),
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    plural: 'ingresses',
    namespaced: true,
    model: () => import('kubernetes-models/networking.k8s.io/v1/Ingress'),
  },
];

export function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  return kinds.find((k) => k.apiVersion === apiVersion && k.kind === kind);
}

export function knownKinds(): string[] {
  return kinds.map((k) => `${k.apiVersion}/${k.kind}`);
}

export function collectionPath(
  info: Pick<KindInfo, 'apiVersion' | 'plural' | 'namespaced'>,
  namespace?: string,
): string {
  const base = info.apiVersion.includes('/') ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
  return info.namespaced && namespace ? `${base}/namespaces/${namespace}/${info.plural}` : `${base}/${info.plural}`;
}

export function objectPath(info: KindInfo, name: string, namespace?: string): string {
  return `${collectionPath(info, namespace)}/${encodeURIComponent(name)}`;
}
