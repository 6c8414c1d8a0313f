/** Nodes: their summary for status, and the wait until enough of them are Ready. */
import type { KubeClient } from './client.js';
import { watchUntil, type Clock } from './watch-until.js';
import { byText } from '../text-order.js';
import type { KubeObject } from './objects.js';

export interface NodeObject extends KubeObject {
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    nodeInfo?: { kubeletVersion?: string };
  };
  spec?: { unschedulable?: boolean };
}

export interface NodeSummary {
  name: string;
  ready: boolean;
  roles: string[];
  version: string;
  reason?: string;
}

export function isNodeReady(node: NodeObject): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function summarizeNode(node: NodeObject): NodeSummary {
  const roles = Object.keys(node.metadata?.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length))
    .sort();
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const summary: NodeSummary = {
    name: node.metadata?.name ?? '',
    ready: ready?.status === 'True',
    roles: roles.length ? roles : ['worker'],
    version: node.status?.nodeInfo?.kubeletVersion ?? '',
  };
  if (ready?.status !== 'True' && ready?.reason) summary.reason = ready.reason;
  return summary;
}

export interface WaitForNodesOptions {
  /** How many Ready nodes count as done; undefined means every node that exists (at least one). */
  expected?: number;
  timeoutMs: number;
  onProgress?: (text: string) => void;
  clock?: Clock;
  signal?: AbortSignal;
}

export async function waitForNodesReady(client: KubeClient, options: WaitForNodesOptions): Promise<NodeSummary[]> {
  const result = await watchUntil<NodeObject>({
    client,
    path: '/api/v1/nodes',
    what: 'nodes to become Ready',
    timeoutMs: options.timeoutMs,
    onProgress: options.onProgress,
    clock: options.clock,
    signal: options.signal,
    tolerateUnreachable: true,
    evaluate: (nodes) => {
      const ready = nodes.filter(isNodeReady).length;
      const expected = options.expected ?? Math.max(nodes.length, 1);
      return { done: ready >= expected, progress: `${ready}/${expected} nodes Ready` };
    },
  });
  return result.objects.map(summarizeNode).sort((a, b) => byText(a.name, b.name));
}
