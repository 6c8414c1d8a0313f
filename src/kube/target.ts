/**
 * Which cluster a command acts on. Keystone never follows the ambient current-context:
 * the target is the context named by --context, else the keystone k3d cluster's own context.
 */
export interface KubeTarget {
  /** Explicit kubeconfig file (--kubeconfig); otherwise KUBECONFIG or ~/.kube/config. */
  kubeconfigPath: string | undefined;
  context: string;
  /** True when the target is the k3d cluster keystone manages (so k3d and ./data apply). */
  local: boolean;
  clusterName: string;
}

export function k3dContextName(clusterName: string): string {
  return `k3d-${clusterName}`;
}

export function resolveTarget(
  options: { context?: string | undefined; kubeconfig?: string | undefined },
  clusterName: string,
): KubeTarget {
  const localContext = k3dContextName(clusterName);
  const context = options.context ?? localContext;
  return { kubeconfigPath: options.kubeconfig, context, local: context === localContext, clusterName };
}

export function describeTarget(target: KubeTarget): string {
  const file = target.kubeconfigPath ?? 'the default kubeconfig';
  return target.local
    ? `k3d cluster "${target.clusterName}" (context ${target.context} in ${file})`
    : `context "${target.context}" in ${file}`;
}
