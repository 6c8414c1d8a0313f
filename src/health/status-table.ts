/** The human-readable form of `keystone status`: the cluster line, node and stack tables, the verdict. */
import type { StatusReport } from './status-report.js';
import { renderTable } from '../ui/table.js';

export function renderStatus(report: StatusReport, columns?: number): string {
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
        report.nodes.map((n) => [
          n.name,
          n.ready ? 'Ready' : `NotReady${n.reason ? ` (${n.reason})` : ''}`,
          n.roles.join(','),
          n.version,
        ]),
        columns,
      ),
    );
  }
  const stack = report.stack;
  if (stack && stack.deployments.length + stack.volumes.length + stack.services.length > 0) {
    lines.push('');
    lines.push(
      renderTable(
        ['DEPLOYMENT', 'READY', 'UP-TO-DATE'],
        stack.deployments.map((d) => [
          d.name,
          `${d.ready}/${d.desired}`,
          d.desired === 0 ? 'scaled to 0' : d.upToDate ? 'yes' : 'rolling out',
        ]),
        columns,
      ),
    );
    if (stack.volumes.length) {
      lines.push('');
      lines.push(
        renderTable(
          ['VOLUME', 'STATUS', 'CAPACITY'],
          stack.volumes.map((v) => [v.name, v.phase, v.capacity ?? '']),
          columns,
        ),
      );
    }
    if (stack.services.length) {
      lines.push('');
      lines.push(
        renderTable(
          ['SERVICE', 'TYPE', 'CLUSTER-IP', 'PORTS'],
          stack.services.map((svc) => [svc.name, svc.type, svc.clusterIP ?? '', svc.ports.join(',')]),
          columns,
        ),
      );
    }
    if (stack.simulations.length) {
      lines.push('');
      lines.push(
        renderTable(
          ['SIMULATION', 'TOOL', 'STATE', 'STARTED'],
          stack.simulations.map((j) => [j.runId ?? j.name, j.tool, j.state, j.startedAt ?? '']),
          columns,
        ),
      );
    }
  }
  lines.push('');
  lines.push(report.verdict);
  if (report.warning) lines.push(`Latest warning: ${report.warning}`);
  return lines.join('\n');
}
