/**
 * Which cluster a command acts on. Keystone never follows the ambient current-context:
 * the target is the context named by --context, else the keystone k3d cluster's own context.
 */
import { prettyCommand } from '../exec/command-line.js';
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

/** What says how to install keystone's stack on a target: which cluster, and through which kubeconfig. */
export type StackTarget = Pick<KubeTarget, 'local' | 'context'> & { kubeconfig?: Pick<Kubeconfigs, 'explicit'> };

/**
 * The command that installs keystone's stack (namespace, Redis password, manifests, simulation
 * templates) on the target: `keystone setup` on keystone's own k3d cluster (it makes the cluster
 * too), `keystone apply --context X` on another one, where setup's k3d steps have no place. Every
 * hint that says how to install the stack takes its command from here (issue 22 #14).
 */
export function installStackCommand(target: StackTarget): string {
  return target.local ? 'keystone setup' : applyStackCommand(target);
}

/** `keystone apply`, with the --context (and --kubeconfig) that name the target when it is another cluster. */
export function applyStackCommand(target: StackTarget): string {
  const kubeconfig = target.kubeconfig?.explicit;
  const where = target.local ? [] : ['--context', target.context, ...(kubeconfig ? ['--kubeconfig', kubeconfig] : [])];
  return prettyCommand('keystone', ['apply', ...where]);
}
