/** `keystone status`: the cluster as k3d sees it and its nodes as the API reports them. */
import type { AppContext } from '../app-context.js';
import { KeystoneError } from '../errors.js';
import { findK3d } from '../cluster/prerequisites.js';
import { observeCluster, type ClusterPhase } from '../cluster/state.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { listNodes, type NodeSummary } from '../kube/nodes.js';
import { renderTable } from '../ui/table.js';

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
  healthy: boolean;
}

export async function gatherStatus(app: AppContext): Promise<StatusReport> {
  const { config } = await app.clusterConfig();
  const target = app.target(config.metadata.name);
  const report: StatusReport = {
    context: target.context,
    cluster: { name: target.local ? config.metadata.name : target.context, managedBy: target.local ? 'k3d' : 'external', phase: 'unknown' },
    api: { reachable: false },
    nodes: [],
    healthy: false,
  };
  if (target.local) {
    if (!(await findK3d(app.runner, app.env))) {
      report.api.error = 'k3d is not installed';
      return report;
    }
    const state = observeCluster(config.metadata.name, await k3dFindCluster(app.runner, config.metadata.name));
    report.cluster = { ...report.cluster, phase: state.phase, servers: state.servers, agents: state.agents };
    if (state.phase === 'absent' || state.phase === 'stopped') return report;
  }
  try {
    const client = await app.kube(target);
    report.api.server = client.server;
    report.nodes = await listNodes(client);
    report.api.reachable = true;
    if (!target.local) report.cluster.phase = 'running';
  } catch (err) {
    if (!(err instanceof KeystoneError)) throw err;
    report.api.error = err.message;
  }
  const expected = target.local ? config.servers + config.agents : Math.max(report.nodes.length, 1);
  report.healthy =
    report.api.reachable &&
    report.cluster.phase === 'running' &&
    report.nodes.length >= expected &&
    report.nodes.every((n) => n.ready);
  return report;
}

export function renderStatus(report: StatusReport): string {
  const c = report.cluster;
  const lines: string[] = [];
  const counts =
    c.servers && c.agents && c.phase !== 'absent'
      ? `  servers ${c.servers.running}/${c.servers.count}  agents ${c.agents.running}/${c.agents.count}`
      : '';
  lines.push(`Cluster:  ${c.name} (${c.managedBy})  ${c.phase === 'absent' ? 'does not exist' : c.phase}${counts}`);
  lines.push(`Context:  ${report.context}${report.api.server ? `  ${report.api.server}` : ''}`);
  if (report.api.error) lines.push(`API:      unreachable: ${report.api.error}`);
  if (report.nodes.length > 0) {
    lines.push('');
    lines.push(
      renderTable(
        ['NODE', 'STATUS', 'ROLES', 'VERSION'],
        report.nodes.map((n) => [n.name, n.ready ? 'Ready' : `NotReady${n.reason ? ` (${n.reason})` : ''}`, n.roles.join(','), n.version]),
      ),
    );
  }
  lines.push('');
  lines.push(report.healthy ? 'Healthy: all nodes Ready.' : `Not healthy: ${verdict(report)}`);
  return lines.join('\n');
}

function verdict(report: StatusReport): string {
  if (report.cluster.phase === 'absent') return 'the cluster does not exist; run `keystone setup`.';
  if (report.cluster.phase === 'stopped') return 'the cluster is stopped; run `keystone start`.';
  if (report.cluster.phase === 'degraded') return 'some cluster nodes are stopped; run `keystone start`.';
  if (!report.api.reachable) return 'the Kubernetes API cannot be reached.';
  const notReady = report.nodes.filter((n) => !n.ready).map((n) => n.name);
  if (notReady.length) return `nodes not Ready: ${notReady.join(', ')}.`;
  return 'fewer nodes than the config asks for are registered.';
}

export async function status(app: AppContext, output: string | undefined): Promise<StatusReport> {
  const report = await gatherStatus(app);
  if (output === 'json') app.ui.json(report);
  else app.ui.data(renderStatus(report));
  return report;
}
