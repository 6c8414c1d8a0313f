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

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Why the existing cluster cannot serve as the configured one, or undefined when it can. A count
 * the config leaves to k3d's default is named as such (`defaults`, from loadClusterConfig).
 */
export function shapeDifference(state: ClusterState, config: ClusterConfig, defaults: ConfigDefault[] = []): string | undefined {
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
