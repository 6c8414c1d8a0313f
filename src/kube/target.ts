/**
 * Which cluster a command acts on. Keystone never follows the ambient current-context:
 * the target is the context named by --context, else the keystone k3d cluster's own context.
 */
import type { Kubeconfigs } from './kubeconfig/files.js';

export interface KubeTarget {
  /** The kubeconfig files the context is looked up in: --kubeconfig, else KUBECONFIG's, else ~/.kube/config. */
  kubeconfig: Kubeconfigs;
  context: string;
  /** True when the target is the k3d cluster keystone manages (so k3d and ./data apply). */
  local: boolean;
  clusterName: string;
}

export function k3dContextName(clusterName: string): string {
  return `k3d-${clusterName}`;
}

export function resolveTarget(
  options: { context?: string | undefined; kubeconfig: Kubeconfigs },
  clusterName: string,
): KubeTarget {
  const localContext = k3dContextName(clusterName);
  const context = options.context ?? localContext;
  return { kubeconfig: options.kubeconfig, context, local: context === localContext, clusterName };
}

export function describeTarget(target: KubeTarget): string {
  const file = target.kubeconfig.explicit ?? 'the default kubeconfig';
  return target.local
    ? `k3d cluster "${target.clusterName}" (context ${target.context} in ${file})`
    : `context "${target.context}" in ${file}`;
}
