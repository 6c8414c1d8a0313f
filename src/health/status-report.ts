/**
 * What `keystone status` reports and the one-line verdict on it: healthy, or the first thing
 * wrong with a way to fix it (the order of the checks is the order a person would look).
 */
import type { ClusterPhase } from '../cluster/state.js';
import type { NodeSummary } from '../kube/nodes.js';
import { installStackCommand, type StackTarget } from '../kube/target.js';

export interface StatusReport {
  context: string;
  cluster: {
    name: string;
    managedBy: 'k3d' | 'external';
    phase: ClusterPhase | 'unknown';
    servers?: { running: number; count: number };
    agents?: { running: number; count: number };
  };
  api: { reachable: boolean; server?: string; error?: string };
  nodes: NodeSummary[];
  stack: StackReport | null;
  healthy: boolean;
  /** One line: what is wrong, or that all is well. */
  verdict: string;
  /** The latest Warning event about an unhealthy pod or volume, in one line. */
  warning?: string;
}

export interface StackReport {
  namespace: string;
  deployments: { name: string; ready: number; desired: number; upToDate: boolean }[];
  volumes: { name: string; phase: string; capacity?: string }[];
  services: { name: string; type: string; clusterIP?: string; ports: string[] }[];
  simulations: { name: string; tool: string; runId?: string; state: string; startedAt?: string }[];
}

export const healthyVerdict = 'Healthy: all nodes Ready, every deployment ready, volumes bound.';

/** `target`: the cluster reported on (by default the one the report names: keystone's k3d cluster or its context). */
export function verdict(
  report: StatusReport,
  expectedNodes: number,
  target: StackTarget = { local: report.cluster.managedBy === 'k3d', context: report.context },
): string {
  if (report.cluster.phase === 'absent') return 'Not healthy: the cluster does not exist; run `keystone setup`.';
  if (report.cluster.phase === 'stopped') return 'Not healthy: the cluster is stopped; run `keystone start`.';
  if (report.cluster.phase === 'degraded') return 'Not healthy: some cluster nodes are stopped; run `keystone start`.';
  if (!report.api.reachable) return 'Not healthy: the Kubernetes API cannot be reached.';
  const notReady = report.nodes.filter((n) => !n.ready).map((n) => n.name);
  if (notReady.length) return `Not healthy: nodes not Ready: ${notReady.join(', ')}.`;
  if (report.nodes.length < expectedNodes) return 'Not healthy: fewer nodes than the config asks for are registered.';
  const stack = report.stack;
  if (!stack || stack.deployments.length === 0)
    return `Not healthy: the stack is not deployed; run \`${installStackCommand(target)}\`.`;
  const behind = stack.deployments
    .filter((d) => d.ready < d.desired || !d.upToDate)
    .map((d) => `${d.name} ${d.ready}/${d.desired}`);
  if (behind.length) return `Not healthy: deployments not ready: ${behind.join(', ')} (see \`keystone pods\`).`;
  // 0/0 is "all ready" arithmetically, but a service with no pods serves nothing.
  const scaledToZero = stack.deployments.filter((d) => d.desired === 0).map((d) => d.name);
  if (scaledToZero.length) {
    return `Not healthy: ${scaledToZero.join(', ')} ${scaledToZero.length === 1 ? 'is' : 'are'} scaled to 0 and not serving; \`keystone scale ${scaledToZero[0]} 1\` brings ${scaledToZero.length === 1 ? 'it' : 'one'} back.`;
  }
  const unbound = stack.volumes.filter((v) => v.phase !== 'Bound').map((v) => `${v.name} ${v.phase}`);
  if (unbound.length) return `Not healthy: volumes not bound: ${unbound.join(', ')}.`;
  return healthyVerdict;
}
