/**
 * Gathers the cluster's health: its nodes and the stack as the API reports them and, when they
 * cannot tell (no answer, a node not Ready, not the shape the config asks for), the cluster as
 * k3d sees it; then the verdict (status-report.ts).
 */
import type { Runner } from '../exec/runner.js';
import type { KubeTarget } from '../kube/target.js';
import type { ClusterShape } from '../cluster/cluster-name.js';
import { InterruptedError, KeystoneError } from '../errors.js';
import { withK3d } from '../cluster/prerequisites.js';
import { observeCluster, observeClusterFromNodes } from '../cluster/state.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { ToolFailedError } from '../exec/runner.js';
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
async function readCluster(client: KubeClient): Promise<{ nodes: NodeSummary[]; stack: StackReport }> {
  const ns = stackNamespace;
  const [nodes, deployments, claims, services, jobs] = await Promise.all([
    client.list<NodeObject>('/api/v1/nodes'),
    client.list<DeploymentObject>(`/apis/apps/v1/namespaces/${ns}/deployments`),
    client.list<KubeObject & { status?: { phase?: string; capacity?: { storage?: string } } }>(
      `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
    ),
    client.list<
      KubeObject & { spec?: { type?: string; clusterIP?: string; ports?: { port: number; protocol?: string }[] } }
    >(`/api/v1/namespaces/${ns}/services`),
    client.list<JobObject>(`/apis/batch/v1/namespaces/${ns}/jobs`),
  ]);
  const runs = jobs.items
    .filter((j) => !j.metadata?.labels?.[labels.template])
    .map((j) => ({
      ...runOfJob(j), // an MPIJob's launcher Job stands for its run

      state: summarizeRun(j, []).state, // the same state `keystone jobs` shows
      startedAt: j.status?.startTime,
    }))
    .sort((a, b) => byText(b.startedAt ?? '', a.startedAt ?? ''));
  const running = runs.filter((r) => r.state === 'Running' || r.state === 'Pending');
  const recent = runs.filter((r) => r.state !== 'Running' && r.state !== 'Pending').slice(0, 5);
  return {
    nodes: nodes.items.map(summarizeNode).sort((a, b) => byText(a.name, b.name)),
    stack: {
      namespace: ns,
      deployments: deployments.items
        .map((d) => ({
          name: d.metadata?.name ?? '',
          ready: d.status?.availableReplicas ?? 0,
          desired: d.spec?.replicas ?? 1,
          upToDate: rolloutStatus(d).done,
        }))
        .sort((a, b) => byText(a.name, b.name)),
      volumes: claims.items.map((c) => ({
        name: c.metadata?.name ?? '',
        phase: c.status?.phase ?? 'Pending',
        ...(c.status?.capacity?.storage ? { capacity: c.status.capacity.storage } : {}),
      })),
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
async function k3dClusterState(
  app: Pick<StatusContext, 'runner' | 'env'>,
  name: string,
): Promise<ReturnType<typeof observeCluster> | undefined> {
  const listed = await withK3d(app.runner, app.env, async (runner) => ({
    cluster: await k3dFindCluster(runner, name),
  }));
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
    cluster: {
      name: target.local ? config.name : target.context,
      managedBy: target.local ? 'k3d' : 'external',
      phase: 'unknown',
    },
    api: { reachable: false },
    nodes: [],
    stack: null,
    healthy: false,
    verdict: '',
  };
  // The API first, and k3d only when the API cannot say what it would: a running cluster whose
  // nodes are all Ready and as the config asks shows its shape in its nodes (state.ts), so
  // `status` makes its list requests and runs no `k3d cluster list` (~70 ms of CPU). A stopped
  // cluster's API refuses the connection at once, and then k3d says why.
  let api: { server: string; nodes: NodeSummary[]; stack: StackReport } | undefined;
  let apiError: unknown;
  try {
    const client = await app.client();
    api = { server: client.server, ...(await readCluster(client)) };
  } catch (err) {
    if (err instanceof InterruptedError) throw err; // Ctrl-C: no k3d call, no report
    apiError = err;
  }
  if (target.local) {
    // Docker down is a state to report (exit 0, .healthy false), like a stopped cluster.
    const state =
      (api && observeClusterFromNodes(config.name, api.nodes, config)) ??
      (await k3dClusterState(app, config.name).catch((err: unknown) => {
        if (err instanceof ToolFailedError && err.dockerDown) return 'docker down' as const;
        throw err;
      }));
    if (state === 'docker down') {
      report.api.error = 'Docker is not running';
      report.verdict = 'Not healthy: Docker is not running; start it, then `keystone start`.';
      return report;
    }
    if (!state) {
      report.api.error = 'k3d is not installed';
      report.verdict = verdict(report, 0);
      return report;
    }
    report.cluster = { ...report.cluster, phase: state.phase, servers: state.servers, agents: state.agents };
    if (state.phase === 'absent' || state.phase === 'stopped') {
      report.verdict = verdict(report, 0);
      return report;
    }
  }
  if (api) {
    report.api.server = api.server;
    report.nodes = api.nodes;
    report.stack = api.stack;
    report.api.reachable = true;
    if (!target.local) report.cluster.phase = 'running';
  } else {
    if (!(apiError instanceof KeystoneError)) throw apiError;
    report.api.error = apiError.message;
  }
  const expected = target.local ? config.servers + config.agents : Math.max(report.nodes.length, 1);
  report.verdict = verdict(report, expected, target);
  report.healthy = report.verdict === healthyVerdict;
  if (!report.healthy && report.api.reachable) {
    const warning = await unhealthyWarning(await app.client()).catch(() => undefined);
    if (warning) report.warning = warning;
  }
  return report;
}
