/** The k3d cluster as k3d reports it, compared with what the config asks for. */
import type { ListedCluster } from '../tools/k3d.js';
import type { ClusterConfig } from './config.js';
import { describeDefaults, type ConfigDefault } from './config-defaults.js';

export type ClusterPhase = 'absent' | 'running' | 'stopped' | 'degraded';

export interface ClusterState {
  name: string;
  phase: ClusterPhase;
  servers: { running: number; count: number };
  agents: { running: number; count: number };
}

export function observeCluster(name: string, listed: ListedCluster | undefined): ClusterState {
  if (!listed) return { name, phase: 'absent', servers: { running: 0, count: 0 }, agents: { running: 0, count: 0 } };
  const servers = { running: listed.serversRunning, count: listed.serversCount };
  const agents = { running: listed.agentsRunning, count: listed.agentsCount };
  const running = servers.running + agents.running;
  const total = servers.count + agents.count;
  const phase: ClusterPhase = running === 0 ? 'stopped' : running === total ? 'running' : 'degraded';
  return { name, phase, servers, agents };
}

/** What observeClusterFromNodes reads of a node (a NodeSummary, src/kube/nodes.ts). */
export interface SeenNode {
  name: string;
  ready: boolean;
  roles: string[];
}

/**
 * The k3d cluster as its Kubernetes nodes show it, when they show all of it, so `status` need not
 * run `k3d cluster list`: every node Ready, each named as k3d names its node containers
 * (`k3d-CLUSTER-server-N`, `k3d-CLUSTER-agent-N`: k3d v5.8.3 pkg/client/cluster.go
 * GenerateNodeName; the container's hostname is that name, pkg/runtimes/docker/translate.go, and
 * k3s registers its node under the hostname), the servers and only they labelled control-plane
 * (k3s pkg/server/server.go setControlPlaneRoleLabel), and as many of each as the config asks
 * for. k3d's list would then say "running, every node up" too. Anything else (a node NotReady,
 * missing, extra or not yet labelled) is undefined: only k3d can tell a stopped container from a
 * NotReady node, so the caller asks it. One window differs: a node whose container has just
 * stopped stays Ready until the node controller's grace period passes (tens of seconds).
 */
export function observeClusterFromNodes(
  name: string,
  nodes: SeenNode[],
  wanted: { servers: number; agents: number },
): ClusterState | undefined {
  const serverName = new RegExp(`^k3d-${escapeRegExp(name)}-server-\\d+$`);
  const agentName = new RegExp(`^k3d-${escapeRegExp(name)}-agent-\\d+$`);
  let servers = 0;
  let agents = 0;
  for (const node of nodes) {
    if (!node.ready) return undefined;
    const controlPlane = node.roles.includes('control-plane');
    if (controlPlane && serverName.test(node.name)) servers++;
    else if (!controlPlane && agentName.test(node.name)) agents++;
    else return undefined;
  }
  if (servers !== wanted.servers || agents !== wanted.agents) return undefined;
  return {
    name,
    phase: 'running',
    servers: { running: servers, count: servers },
    agents: { running: agents, count: agents },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Why the existing cluster cannot serve as the configured one, or undefined when it can. A count
 * the config leaves to k3d's default is named as such (`defaults`, from loadClusterConfig).
 */
export function shapeDifference(
  state: ClusterState,
  config: ClusterConfig,
  defaults: ConfigDefault[] = [],
): string | undefined {
  const wantServers = config.servers;
  const wantAgents = config.agents;
  if (state.servers.count === wantServers && state.agents.count === wantAgents) return undefined;
  const counts = defaults.filter((d) => d.field === 'servers' || d.field === 'agents');
  return (
    `cluster "${state.name}" has ${plural(state.servers.count, 'server')} and ${plural(state.agents.count, 'agent')}, ` +
    `but the config asks for ${plural(wantServers, 'server')} and ${plural(wantAgents, 'agent')}` +
    (counts.length ? ` (${describeDefaults(counts)})` : '')
  );
}

export function describeState(state: ClusterState): string {
  if (state.phase === 'absent') return `cluster "${state.name}" does not exist`;
  return `cluster "${state.name}" is ${state.phase} (servers ${state.servers.running}/${state.servers.count}, agents ${state.agents.running}/${state.agents.count})`;
}
