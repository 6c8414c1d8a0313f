/** The runs in the cluster: one summary per run Job, newest first. */
import { KubeApiError, type KubeClient } from '../kube/client.js';
import type { PodObject } from '../stack/rollout.js';
import type { JobObject } from './job-builder.js';
import { annotations, labels } from '../kube/vocabulary.js';
import { podIndex, terminalCondition } from './follow-run.js';
import { byText } from '../text-order.js';

/**
 * The run directory from a Job's annotations. Jobs made before keystone.io/output-on held a
 * sentence for runs on another cluster ("/data/x/runs/id on the node that runs it (context c)").
 */
export function outputLocation(job: JobObject, pods: PodObject[]): Pick<RunSummary, 'outputDir' | 'outputLocal' | 'outputNodes' | 'outputVolume'> {
  const text = job.metadata?.annotations?.[annotations.outputDir];
  const on = job.metadata?.annotations?.[annotations.outputOn];
  const claim = job.metadata?.annotations?.[annotations.outputClaim];
  if (on === 'volume' && text && claim) return { outputDir: text, outputLocal: false, outputNodes: [], outputVolume: claim };
  const older = text ? / on the node that runs it \(context .*\)$/.exec(text) : null;
  const outputDir = text ? (older ? text.slice(0, older.index) : text) : null;
  const outputLocal = outputDir !== null && (on ? on === 'host' : !older);
  const nodes = outputLocal ? [] : [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => Boolean(n)))].sort();
  return { outputDir, outputLocal, outputNodes: nodes };
}

export interface RunSummary {
  runId: string;
  tool: string;
  job: string;
  state: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  exitCode?: number;
  /** The run directory: a path on this machine, or on the node(s) in outputNodes; null if unknown. */
  outputDir: string | null;
  /** True when outputDir is on this machine (data/ is mounted into the keystone cluster's nodes). */
  outputLocal: boolean;
  /** Runs on another cluster from before run volumes: the nodes whose outputDir holds the outputs. */
  outputNodes: string[];
  /** On another cluster: the PersistentVolumeClaim holding outputDir (as the run's pod sees it). */
  outputVolume?: string;
  sweep?: { total: number; succeeded: number; failed: number };
}

export function summarizeRun(job: JobObject, pods: PodObject[], now = Date.now()): RunSummary {
  const terminal = terminalCondition(job);
  const active = job.status?.active ?? 0;
  const state = terminal ? (terminal.type === 'Complete' ? 'Succeeded' : 'Failed') : active > 0 || pods.some((p) => p.status?.phase === 'Running') ? 'Running' : 'Pending';
  const startedAt = job.status?.startTime;
  const finishedAt = terminal
    ? job.status?.completionTime ?? job.status?.conditions?.find((c) => c.type === terminal.type)?.lastTransitionTime
    : undefined;
  const end = finishedAt ? Date.parse(finishedAt) : now;
  const exitCodes = pods
    .map((p) => ({ index: podIndex(p), code: p.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated?.exitCode }))
    .filter((x): x is { index: number; code: number } => x.code !== undefined)
    .sort((a, b) => a.index - b.index);
  const failedCode = exitCodes.find((x) => x.code !== 0)?.code;
  const summary: RunSummary = {
    runId: job.metadata?.labels?.[labels.runId] ?? '',
    tool: job.metadata?.labels?.[labels.tool] ?? '',
    job: job.metadata?.name ?? '',
    state,
    ...outputLocation(job, pods),
  };
  if (terminal?.type === 'Failed' && terminal.reason) summary.reason = terminal.reason;
  if (startedAt) summary.startedAt = startedAt;
  if (finishedAt) summary.finishedAt = finishedAt;
  if (startedAt) summary.durationSeconds = Math.max(0, Math.round((end - Date.parse(startedAt)) / 1000));
  if (state === 'Succeeded') summary.exitCode = 0;
  else if (state === 'Failed') summary.exitCode = failedCode ?? (terminal?.reason === 'DeadlineExceeded' ? 124 : 1);
  if (job.spec.completionMode === 'Indexed') {
    summary.sweep = { total: job.spec.completions ?? 0, succeeded: job.status?.succeeded ?? 0, failed: job.status?.failed ?? 0 };
  }
  return summary;
}

/** Jobs and their pods, fetched together (two list requests in one round). */
export async function listRuns(client: KubeClient, ns: string): Promise<RunSummary[]> {
  const selector = labels.runId;
  const [jobs, pods] = await Promise.all([
    client.list<JobObject>(`/apis/batch/v1/namespaces/${ns}/jobs`, { labelSelector: selector }),
    client.list<PodObject>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: selector }),
  ]);
  const podsByRun = new Map<string, PodObject[]>();
  for (const pod of pods.items) {
    const id = pod.metadata?.labels?.[labels.runId] ?? '';
    podsByRun.set(id, [...(podsByRun.get(id) ?? []), pod]);
  }
  const now = Date.now();
  return jobs.items
    .map((j) => summarizeRun(j, podsByRun.get(j.metadata?.labels?.[labels.runId] ?? '') ?? [], now))
    .sort((a, b) => byText(b.runId, a.runId));
}

/** Deletes a run's Job and its pods (outputs on the host are kept). */
export async function deleteRun(client: KubeClient, ns: string, name: string): Promise<boolean> {
  try {
    await client.request({ method: 'DELETE', path: `/apis/batch/v1/namespaces/${ns}/jobs/${name}`, query: { propagationPolicy: 'Background' }, retry: true });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return false;
    throw err;
  }
}
