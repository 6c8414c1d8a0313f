/**
 * CPU and memory per node and per pod from the metrics API (metrics.k8s.io/v1beta1, served by
 * metrics-server through the API aggregator), as `kubectl top node` / `kubectl top pod` show it
 * (kubernetes/kubectl pkg/cmd/top: CPU in millicores, memory in Mi, a node's percent of its
 * allocatable). Without the API there are no numbers, only the reason and how to get it.
 */
import { KeystoneError } from '../errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';

interface Usage {
  cpu?: string;
  memory?: string;
}
type NodeMetrics = KubeObject & { usage?: Usage };
type PodMetrics = KubeObject & { containers?: { name: string; usage?: Usage }[] };
type NodeObject = KubeObject & { status?: { allocatable?: Usage } };

export interface TopReport {
  nodes: { name: string; cpuMillicores: number; cpuPercent?: number; memoryBytes: number; memoryPercent?: number }[];
  pods: { name: string; cpuMillicores: number; memoryBytes: number }[];
}

const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

/** A Kubernetes quantity ("250m", "1.5", "123456789n", "2048Ki", "1e3") as a number of units. */
export function parseQuantity(q: string | undefined): number {
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec((q ?? '').trim());
  if (!m) throw new KeystoneError(`the metrics API returned a quantity keystone cannot read: "${q ?? ''}"`);
  return Number(m[1]) * suffixes[m[2] ?? '']!;
}

/** Why there is no metrics API, and how to get one. */
function noMetrics(err: KubeApiError): KeystoneError {
  const k3s =
    'k3s ships metrics-server unless the cluster was created with `--disable=metrics-server` (in k3d: options.k3s.extraArgs); check `kubectl -n kube-system get deployment metrics-server`; on another cluster install it: https://github.com/kubernetes-sigs/metrics-server#installation';
  if (err.statusCode === 404)
    return new KeystoneError(
      'the cluster has no metrics API (metrics.k8s.io is not served): no CPU or memory figures to show',
      { hint: k3s },
    );
  return new KeystoneError(`the metrics API is registered but not answering (HTTP ${err.statusCode}: ${err.message})`, {
    hint: 'metrics-server collects its first figures a minute or so after it starts; if it persists, `kubectl -n kube-system logs deployment/metrics-server` says why',
  });
}

async function get<T>(client: KubeClient, path: string): Promise<T> {
  try {
    return await client.request<T>({ path });
  } catch (err) {
    if (err instanceof KubeApiError && (err.statusCode === 404 || err.statusCode === 503)) throw noMetrics(err);
    throw err;
  }
}

const round = (n: number) => Math.round(n);

export async function readTop(client: KubeClient, ns: string): Promise<TopReport> {
  const nodeMetrics = await get<{ items: NodeMetrics[] }>(client, '/apis/metrics.k8s.io/v1beta1/nodes');
  const podMetrics = await get<{ items: PodMetrics[] }>(client, `/apis/metrics.k8s.io/v1beta1/namespaces/${ns}/pods`);
  const nodes = (await client.list<NodeObject>('/api/v1/nodes')).items;
  const allocatable = new Map(nodes.map((n) => [n.metadata?.name ?? '', n.status?.allocatable]));
  const percent = (used: number, of: string | undefined) =>
    of && parseQuantity(of) > 0 ? round((used / parseQuantity(of)) * 100) : undefined;
  return {
    nodes: nodeMetrics.items
      .map((m) => {
        const cpu = parseQuantity(m.usage?.cpu ?? '0');
        const memory = parseQuantity(m.usage?.memory ?? '0');
        const alloc = allocatable.get(m.metadata?.name ?? '');
        const cpuPercent = percent(cpu, alloc?.cpu);
        const memoryPercent = percent(memory, alloc?.memory);
        return {
          name: m.metadata?.name ?? '',
          cpuMillicores: round(cpu * 1000),
          ...(cpuPercent !== undefined ? { cpuPercent } : {}),
          memoryBytes: round(memory),
          ...(memoryPercent !== undefined ? { memoryPercent } : {}),
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name)),
    pods: podMetrics.items
      .map((m) => ({
        name: m.metadata?.name ?? '',
        // A pod's usage is the sum of its containers', as kubectl top pod shows it.
        cpuMillicores: round((m.containers ?? []).reduce((s, c) => s + parseQuantity(c.usage?.cpu ?? '0'), 0) * 1000),
        memoryBytes: round((m.containers ?? []).reduce((s, c) => s + parseQuantity(c.usage?.memory ?? '0'), 0)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
