/** `keystone status`: the cluster as k3d sees it and its nodes as the API reports them. */
import type { AppContext } from '../app-context.js';
import { KeystoneError } from '../errors.js';
import { withK3d } from '../cluster/prerequisites.js';
import { observeCluster, type ClusterPhase } from '../cluster/state.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { summarizeNode, type NodeObject, type NodeSummary } from '../kube/nodes.js';
import type { KubeClient, KubeObject } from '../kube/client.js';
import { rolloutStatus, type DeploymentObject } from '../stack/rollout.js';
import { labels, stackNamespace } from '../kube/vocabulary.js';
import type { JobObject } from '../simulate/job-builder.js';
import { summarizeRun } from '../simulate/runs.js';
import { unhealthyWarning } from '../operate/unhealthy-warning.js';
import { byText } from '../text-order.js';

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

/** Nodes and the whole stack in one round of parallel list requests. */
async function readCluster(client: KubeClient, signal?: AbortSignal): Promise<{ nodes: NodeSummary[]; stack: StackReport }> {
  const ns = stackNamespace;
  const [nodes, deployments, claims, services, jobs] = await Promise.all([
    client.list<NodeObject>('/api/v1/nodes', {}, signal),
    client.list<DeploymentObject>(`/apis/apps/v1/namespaces/${ns}/deployments`, {}, signal),
    client.list<KubeObject & { status?: { phase?: string; capacity?: { storage?: string } } }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, {}, signal),
    client.list<KubeObject & { spec?: { type?: string; clusterIP?: string; ports?: { port: number; protocol?: string }[] } }>(`/api/v1/namespaces/${ns}/services`, {}, signal),
    client.list<JobObject>(`/apis/batch/v1/namespaces/${ns}/jobs`, {}, signal),
  ]);
  const runs = jobs.items
    .filter((j) => !j.metadata?.labels?.[labels.template])
    .map((j) => ({
      name: j.metadata?.name ?? '',
      tool: j.metadata?.labels?.[labels.tool] ?? '',
      runId: j.metadata?.labels?.[labels.runId],
      state: summarizeRun(j, []).state, // the same state `keystone jobs` shows
      startedAt: j.status?.startTime,
    }))
    .sort((a, b) => byText((b.startedAt ?? ''), a.startedAt ?? ''));
  const running = runs.filter((r) => r.state === 'Running' || r.state === 'Pending');
  const recent = runs.filter((r) => r.state !== 'Running' && r.state !== 'Pending').slice(0, 5);
  return {
    nodes: nodes.items.map(summarizeNode).sort((a, b) => byText(a.name, b.name)),
    stack: {
      namespace: ns,
      deployments: deployments.items
        .map((d) => ({ name: d.metadata?.name ?? '', ready: d.status?.availableReplicas ?? 0, desired: d.spec?.replicas ?? 1, upToDate: rolloutStatus(d).done }))
        .sort((a, b) => byText(a.name, b.name)),
      volumes: claims.items.map((c) => ({ name: c.metadata?.name ?? '', phase: c.status?.phase ?? 'Pending', ...(c.status?.capacity?.storage ? { capacity: c.status.capacity.storage } : {}) })),
      services: services.items.map((svc) => ({
        name: svc.metadata?.name ?? '',
        type: svc.spec?.type ?? 'ClusterIP',
        ...(svc.spec?.clusterIP ? { clusterIP: svc.spec.clusterIP } : {}),
        ports: (svc.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`),
      })),
      simulations: [...running, ...recent],
    },
  };
}

/** The cluster as k3d lists it, or undefined when k3d is not installed (no `k3d version` call first). */
async function k3dClusterState(app: AppContext, name: string): Promise<ReturnType<typeof observeCluster> | undefined> {
  const listed = await withK3d(app.runner, app.env, async (runner) => ({ cluster: await k3dFindCluster(runner, name) }));
  return listed && observeCluster(name, listed.cluster);
}

export async function gatherStatus(app: AppContext): Promise<StatusReport> {
  const config = await app.clusterShape();
  const target = await app.target();
  const report: StatusReport = {
    context: target.context,
    cluster: { name: target.local ? config.name : target.context, managedBy: target.local ? 'k3d' : 'external', phase: 'unknown' },
    api: { reachable: false },
    nodes: [],
    stack: null,
    healthy: false,
    verdict: '',
  };
  // k3d's view and the API's are read side by side, not one after the other: the API reads are
  // only used when k3d says the cluster runs (a stopped cluster's API cannot answer anyway).
  const k3dView = target.local ? k3dClusterState(app, config.name) : Promise.resolve(undefined);
  const notNeeded = new AbortController();
  const apiView = (async () => {
    const client = await app.client();
    return { server: client.server, ...(await readCluster(client, notNeeded.signal)) };
  })();
  apiView.catch(() => undefined); // awaited below only when k3d says the cluster runs
  const skipApi = () => notNeeded.abort(); // its retries must not keep the command waiting
  if (target.local) {
    const state = await k3dView;
    if (!state) {
      skipApi();
      report.api.error = 'k3d is not installed';
      report.verdict = verdict(report, 0);
      return report;
    }
    report.cluster = { ...report.cluster, phase: state.phase, servers: state.servers, agents: state.agents };
    if (state.phase === 'absent' || state.phase === 'stopped') {
      skipApi();
      report.verdict = verdict(report, 0);
      return report;
    }
  }
  try {
    const { server, nodes, stack } = await apiView;
    report.api.server = server;
    report.nodes = nodes;
    report.stack = stack;
    report.api.reachable = true;
    if (!target.local) report.cluster.phase = 'running';
  } catch (err) {
    if (!(err instanceof KeystoneError)) throw err;
    report.api.error = err.message;
  }
  const expected = target.local ? config.servers + config.agents : Math.max(report.nodes.length, 1);
  report.verdict = verdict(report, expected);
  report.healthy = report.verdict === healthyVerdict;
  if (!report.healthy && report.api.reachable) {
    const warning = await unhealthyWarning(await app.client()).catch(() => undefined);
    if (warning) report.warning = warning;
  }
  return report;
}

const healthyVerdict = 'Healthy: all nodes Ready, every deployment ready, volumes bound.';

function verdict(report: StatusReport, expectedNodes: number): string {
  if (report.cluster.phase === 'absent') return 'Not healthy: the cluster does not exist; run `keystone setup`.';
  if (report.cluster.phase === 'stopped') return 'Not healthy: the cluster is stopped; run `keystone start`.';
  if (report.cluster.phase === 'degraded') return 'Not healthy: some cluster nodes are stopped; run `keystone start`.';
  if (!report.api.reachable) return 'Not healthy: the Kubernetes API cannot be reached.';
  const notReady = report.nodes.filter((n) => !n.ready).map((n) => n.name);
  if (notReady.length) return `Not healthy: nodes not Ready: ${notReady.join(', ')}.`;
  if (report.nodes.length < expectedNodes) return 'Not healthy: fewer nodes than the config asks for are registered.';
  const stack = report.stack;
  if (!stack || stack.deployments.length === 0) return 'Not healthy: the stack is not deployed; run `keystone setup`.';
  const behind = stack.deployments.filter((d) => d.ready < d.desired || !d.upToDate).map((d) => `${d.name} ${d.ready}/${d.desired}`);
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

export async function status(app: AppContext, output: string | undefined): Promise<StatusReport> {
  app.boundByTimeout();
  const report = await gatherStatus(app);
  if (output === 'json' || output === 'yaml') await app.ui.document(report, output);
  else {
    // Tables (and the width measuring they load) only when a table is printed, not for -o json.
    const { renderStatus } = await import('../ui/status-table.js');
    app.ui.data(renderStatus(report, app.ui.columns));
  }
  return report;
}
