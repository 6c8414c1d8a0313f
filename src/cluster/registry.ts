/**
 * The registry k3d creates from `registries.create`, and the addresses that reach it.
 *
 * Checked against k3d-io/k3d v5.8.3:
 * - pkg/config/transform.go: the name is `registries.create.name` exactly as given, or
 *   "k3d-<cluster>-registry" when unset; the host port is `hostPort` (or a random one) and the
 *   container port is k3d.DefaultRegistryPort, 5000 (pkg/types/registry.go; v5.8.3 reverted the
 *   change that would have made them equal).
 * - pkg/client/registry.go RegistryGenerateK3sConfig: every node's registries.yaml mirrors
 *   "<name>:<containerPort>" and "<name>:<hostPort>" to http://<name>:5000, so inside the cluster
 *   an image is "<name>:5000/IMAGE:TAG".
 * From the host, Docker pushes over plain HTTP only to localhost (127.0.0.0/8 is an insecure
 * registry by default), so the host address is localhost:<hostPort>.
 */
import type { ClusterConfig } from './config.js';

/** The registry's port inside its container, which k3d v5.8.3 fixes (k3d.DefaultRegistryPort). */
export const registryContainerPort = 5000;

export interface RegistryAddresses {
  name: string;
  /** "localhost:5000": push here from this machine; undefined when k3d picks a random host port. */
  fromHost?: string;
  /** "keystone-registry:5000": use this in manifests. */
  inCluster: string;
  hostPort?: number;
}

export function registryAddresses(config: ClusterConfig): RegistryAddresses | undefined {
  const create = config.registries?.create;
  if (!create) return undefined;
  const name = create.name || `k3d-${config.metadata.name}-registry`;
  // "random" (k3d's default, also when unset): Docker picks the port when k3d creates the registry.
  const hostPort = create.hostPort && create.hostPort !== 'random' ? Number(create.hostPort) : undefined;
  const host = create.host && create.host !== '0.0.0.0' ? create.host : 'localhost';
  return {
    name,
    inCluster: `${name}:${registryContainerPort}`,
    ...(hostPort !== undefined ? { hostPort, fromHost: `${host}:${hostPort}` } : {}),
  };
}

/** Lines for setup's summary and doctor: where to push, and what to write in a manifest. */
export function describeRegistry(r: RegistryAddresses): string[] {
  const push = r.fromHost ?? `localhost:<port> (k3d picked the port: \`docker port ${r.name}\`)`;
  return [
    `registry   ${r.name}: push from this machine to ${push}, e.g. docker tag my-image:1.0 ${push}/my-image:1.0 && docker push ${push}/my-image:1.0`,
    `           in manifests: image: ${r.inCluster}/my-image:1.0`,
  ];
}
