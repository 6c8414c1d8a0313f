/** The latest Warning event about an object of the stack that is unhealthy now (for `keystone status`). */
import type { KubeClient } from '../kube/client.js';
import { listPods } from './stack-objects.js';
import { stackNamespace } from '../vocabulary.js';
import { summarizePod } from './pod-summary.js';
import { latestWarnings, summarizeEvent, warningLine, type EventObject, type EventSummary } from './events.js';

export async function unhealthyWarning(client: KubeClient, now = Date.now()): Promise<string | undefined> {
  const [pods, claims, events] = await Promise.all([
    listPods(client),
    client.list<{ [key: string]: unknown; metadata?: { name?: string }; status?: { phase?: string } }>(
      `/api/v1/namespaces/${stackNamespace}/persistentvolumeclaims`,
    ),
    client.list<EventObject>(`/api/v1/namespaces/${stackNamespace}/events`),
  ]);
  const unhealthy = new Set<string>();
  for (const p of pods) {
    const s = summarizePod(p, now);
    if (!s.healthy && s.phase !== 'Succeeded') unhealthy.add(`Pod/${s.name}`);
  }
  for (const c of claims.items)
    if (c.status?.phase !== 'Bound') unhealthy.add(`PersistentVolumeClaim/${c.metadata?.name}`);
  let latest: [string, EventSummary] | undefined;
  for (const [key, e] of latestWarnings(events.items.map(summarizeEvent))) {
    if (unhealthy.has(key) && (!latest || (e.lastSeen ?? '') >= (latest[1].lastSeen ?? ''))) latest = [key, e];
  }
  return latest ? `${latest[0]}: ${warningLine(latest[1], now)}` : undefined;
}
