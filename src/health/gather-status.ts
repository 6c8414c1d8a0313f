/**
 * Gathers the cluster's health: the cluster as k3d sees it and, when it runs, its nodes and the
 * stack as the API reports them, read side by side; then the verdict (status-report.ts).
 */
import type { Runner } from '../exec/runner.js';
import type { KubeTarget } from '../kube/target.js';
import type { ClusterShape } from '../cluster/cluster-name.js';
import { KeystoneError } from '../errors.js';
import { withK3d } from '../cluster/prerequisites.js';
import { observeCluster } from '../cluster/state.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { summarizeNode, type NodeObject, type NodeSummary } from '../kube/nodes.js';
import type { KubeClient } from '../kube/client.js';
import { rolloutStatus } from '../stack/rollout.js';
import { labels, stackNamespace } from '../vocabulary.js';
import { runOfJob, summarizeRun } from '../runs/catalog/list.js';
import { unhealthyWarning } from '../operate/unhealthy-warning.js';
import { byText } from '../text-order.js';
import { healthyVerdict, verdict, type StackReport, type StatusReport } from './status-report.js';
import type { KubeObject, DeploymentObject, JobObject } from '../kube/objects.js';

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
      ...runOfJob(j), // an MPIJob's launcher Job stands for its run

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
async function k3dClusterState(app: Pick<StatusContext, 'runner' | 'env'>, name: string): Promise<ReturnType<typeof observeCluster> | undefined> {
  const listed = await withK3d(app.runner, app.env, async (runner) => ({ cluster: await k3dFindCluster(runner, name) }));
  return listed && observeCluster(name, listed.cluster);
}

/** What `keystone status` reads: k3d (through the runner) and the API of the target. */
export interface StatusContext {
  runner: Runner;
  env: NodeJS.ProcessEnv;
  clusterShape(): Promise<ClusterShape>;
  target(): Promise<KubeTarget>;
  client(): Promise<KubeClient>;
}

export async function gatherStatus(app: StatusContext): Promise<StatusReport> {
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

