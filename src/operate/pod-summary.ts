/** One line of truth per pod, as `kubectl get pods` shows it, plus why an unhealthy pod is unhealthy. */
import type { PodObject } from '../kube/objects.js';

export interface PodSummary {
  name: string;
  phase: string;
  /** kubectl's STATUS: Running, Completed, CrashLoopBackOff, OOMKilled, Pending: Unschedulable, Terminating... */
  status: string;
  ready: string;
  restarts: number;
  createdAt: string | undefined;
  ageSeconds: number;
  node: string | undefined;
  ip: string | undefined;
  healthy: boolean;
  message?: string;
  /** The latest Warning event about an unhealthy pod, in one line (set by `keystone pods`). */
  warning?: string;
}

export function summarizePod(pod: PodObject, now = Date.now()): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const total = pod.spec?.containers?.length ?? statuses.length;
  const ready = statuses.filter((c) => c.ready).length;
  const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const phase = pod.status?.phase ?? 'Pending';
  let status = pod.status?.reason ?? phase;
  let message = pod.status?.message;
  for (const c of [...statuses].reverse()) {
    if (c.state?.waiting?.reason && c.state.waiting.reason !== 'ContainerCreating') {
      status = c.state.waiting.reason;
      message = c.state.waiting.message ?? message;
      const last = c.lastState?.terminated?.reason;
      if (status === 'CrashLoopBackOff' && last === 'OOMKilled') status = 'OOMKilled';
    } else if (c.state?.waiting?.reason === 'ContainerCreating') {
      status = 'ContainerCreating';
    } else if (c.state?.terminated) {
      const t = c.state.terminated;
      status = t.reason ?? (t.exitCode !== undefined ? `ExitCode:${t.exitCode}` : 'Terminated');
      message = t.message ?? message;
    }
  }
  const unschedulable = pod.status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
  if (unschedulable) {
    status = 'Pending: Unschedulable';
    message = unschedulable.message;
  }
  if (pod.metadata?.deletionTimestamp) status = 'Terminating';
  const createdAt = pod.metadata?.creationTimestamp;
  const healthy = phase === 'Succeeded' || (phase === 'Running' && ready === total && status === 'Running');
  const summary: PodSummary = {
    name: pod.metadata?.name ?? '',
    phase,
    status,
    ready: `${ready}/${total}`,
    restarts,
    createdAt,
    ageSeconds: createdAt ? Math.max(0, Math.floor((now - Date.parse(createdAt)) / 1000)) : 0,
    node: pod.spec?.nodeName,
    ip: (pod.status as { podIP?: string } | undefined)?.podIP,
    healthy,
  };
  if (!healthy && message) summary.message = message;
  return summary;
}

/** kubectl's short ages: 45s, 12m, 3h, 2d. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
