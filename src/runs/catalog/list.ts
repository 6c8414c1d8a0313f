/** The runs in the cluster: one summary per run Job (or MPIJob, for a run across nodes), newest first. */
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { annotations, labels } from '../../vocabulary.js';
import { byText } from '../../text-order.js';
import { mpiJobAsJob } from '../build/mpijob.js';
import { simulationContainer } from '../build/job.js';
import {
  cancelledAt,
  cancelledExitCode,
  cancelledReason,
  mpiJobsPath,
  operatorLabels,
  podIndex,
  runCollectionPath,
  terminalCondition,
  type RunKind,
  type RunSummary,
} from '../model.js';
import type { PodObject, JobObject, MpiJobObject } from '../../kube/objects.js';
import { podProblem } from '../../stack/rollout.js';

/**
 * The run directory from a Job's annotations. Jobs made before keystone.io/output-on held a
 * sentence for runs on another cluster ("/data/x/runs/id on the node that runs it (context c)").
 */
export function outputLocation(
  job: JobObject,
  pods: PodObject[],
): Pick<RunSummary, 'outputDir' | 'outputLocal' | 'outputNodes' | 'outputVolume'> {
  const text = job.metadata?.annotations?.[annotations.outputDir];
  const on = job.metadata?.annotations?.[annotations.outputOn];
  const claim = job.metadata?.annotations?.[annotations.outputClaim];
  if (on === 'volume' && text && claim)
    return { outputDir: text, outputLocal: false, outputNodes: [], outputVolume: claim };
  const older = text ? / on the node that runs it \(context .*\)$/.exec(text) : null;
  const outputDir = text ? (older ? text.slice(0, older.index) : text) : null;
  const outputLocal = outputDir !== null && (on ? on === 'host' : !older);
  const nodes = outputLocal
    ? []
    : [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => Boolean(n)))].sort();
  return { outputDir, outputLocal, outputNodes: nodes };
}

export function summarizeRun(job: JobObject, pods: PodObject[], now = Date.now()): RunSummary {
  const terminal = terminalCondition(job);
  // Cancelled by `jobs cancel` (suspended and kept, cancel.ts): a Failed run, unless it had ended first.
  const cancelled = terminal ? undefined : cancelledAt(job);
  const active = job.status?.active ?? 0;
  // A Job's active count includes pods still Pending (kubernetes pkg/controller/job: active = not
  // yet finished), so a run whose every pod is Pending has not started, whatever active says.
  const allPending = pods.length > 0 && pods.every((p) => (p.status?.phase ?? 'Pending') === 'Pending');
  const state = terminal
    ? terminal.type === 'Complete'
      ? 'Succeeded'
      : 'Failed'
    : cancelled
      ? 'Failed'
      : !allPending && (active > 0 || pods.some((p) => p.status?.phase === 'Running'))
        ? 'Running'
        : 'Pending';
  const startedAt = job.status?.startTime;
  const finishedAt = terminal
    ? (job.status?.completionTime ?? job.status?.conditions?.find((c) => c.type === terminal.type)?.lastTransitionTime)
    : cancelled;
  const end = finishedAt ? Date.parse(finishedAt) : now;
  const exitCodes = pods
    .map((p) => ({
      index: podIndex(p),
      code: p.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated?.exitCode,
    }))
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
  if (state === 'Pending') {
    const waiting = pendingReason(pods);
    if (waiting) summary.reason = waiting;
  }
  if (cancelled) summary.reason = cancelledReason;
  if (startedAt) summary.startedAt = startedAt;
  if (finishedAt) summary.finishedAt = finishedAt;
  if (startedAt) summary.durationSeconds = Math.max(0, Math.round((end - Date.parse(startedAt)) / 1000));
  if (state === 'Succeeded') summary.exitCode = 0;
  else if (cancelled) summary.exitCode = cancelledExitCode;
  else if (state === 'Failed') summary.exitCode = failedCode ?? (terminal?.reason === 'DeadlineExceeded' ? 124 : 1);
  const image = simulationContainer(job.spec.template.spec.containers)?.image;
  if (image) summary.image = image;
  if (job.spec.completionMode === 'Indexed') {
    summary.sweep = {
      total: job.spec.completions ?? 0,
      succeeded: job.status?.succeeded ?? 0,
      failed: job.status?.failed ?? 0,
    };
  }
  return summary;
}

/** Why a run's pod has not started, when the cluster says why (the scheduler, the kubelet). */
function pendingReason(pods: PodObject[]): string | undefined {
  for (const pod of pods) {
    const problem = podProblem(pod);
    if (!problem) continue;
    const short = problem.message.split('. preemption:')[0];
    return (
      (problem.reason === 'Unschedulable' && explainUnschedulable(problem.message)) ||
      `${problem.reason}${short ? `: ${short}` : ''}`
    );
  }
  return undefined;
}

/** The scheduler's words on a pod whose volume is tied to one node, said for people; undefined for other reasons. */
export function explainUnschedulable(message: string): string | undefined {
  if (!message.includes('volume node affinity conflict')) return undefined;
  const short = /^[^.]*/.exec(message)?.[0] ?? message;
  const insufficient = /\d+ Insufficient (\w[\w.-]*)/.exec(message);
  if (insufficient)
    return `waiting for room on the node that holds its volume (Insufficient ${insufficient[1]}): it starts when that node frees up (${short})`;
  return `no node can use its volume: the node that holds it is gone or takes no pods (${short})`;
}

/**
 * The run a Job is: its own name and labels, or for an MPIJob's launcher Job (which the operator
 * labels only `app`) the MPIJob's name and the run's labels from its pod template.
 */
export function runOfJob(job: JobObject): { name: string; tool: string; runId?: string } {
  const refs = (job.metadata?.ownerReferences ?? []) as { kind?: string; name?: string; controller?: boolean }[];
  const owner = refs.find((o) => o.controller && o.kind === 'MPIJob');
  const runLabels = (owner ? job.spec.template.metadata?.labels : job.metadata?.labels) ?? {};
  return {
    name: owner?.name ?? job.metadata?.name ?? '',
    tool: runLabels[labels.tool] ?? '',
    runId: runLabels[labels.runId],
  };
}

/**
 * A run across nodes: the MPIJob's state is its own (Succeeded/Failed, set by the operator from
 * its launcher Job), its exit code the launcher pod's; the workers' pods only say where it ran.
 */
export function summarizeMpiJobRun(m: MpiJobObject, pods: PodObject[], now = Date.now()): RunSummary {
  const job = mpiJobAsJob(m);
  const launcher = pods.filter((p) => p.metadata?.labels?.[operatorLabels.jobRole] === 'launcher');
  return {
    ...summarizeRun(job, launcher, now),
    ...outputLocation(job, pods),
    nodes: m.spec.mpiReplicaSpecs.Worker?.replicas ?? 0,
  };
}

/**
 * MPIJobs with a run id; none where the API has no MPIJob resource (404: no MPI Operator) or the
 * user may not list them (403), so `keystone jobs` works the same on such a cluster.
 */
export async function listMpiJobs(
  client: KubeClient,
  ns: string,
  labelSelector: string = labels.runId,
): Promise<MpiJobObject[]> {
  try {
    return (await client.list<MpiJobObject>(mpiJobsPath(ns), { labelSelector })).items;
  } catch (err) {
    if (err instanceof KubeApiError && (err.statusCode === 404 || err.statusCode === 403)) return [];
    throw err;
  }
}

/**
 * Does a run's summary depend on its pods? For a run that failed (its exit code is its failed
 * pod's), one still going (Running or Pending is told by its pods, and why it waits), and one
 * whose outputs are on the nodes its pods ran on. A run that succeeded or was cancelled, with its
 * outputs on the host or a volume, is summed up from its Job (or MPIJob) alone.
 */
export function summaryNeedsPods(job: JobObject): boolean {
  const terminal = terminalCondition(job);
  if (terminal?.type === 'Failed') return true;
  if (!terminal && !cancelledAt(job)) return true;
  const where = outputLocation(job, []);
  return where.outputDir !== null && !where.outputLocal && !where.outputVolume;
}

/** More run ids than this in one selector, and the pods of every run are listed instead. */
const maxIdsInSelector = 50;

/**
 * Jobs and MPIJobs in one round of two list requests, then the pods of only those runs whose
 * summary needs them (summaryNeedsPods), if any: listing runs that all finished well makes no
 * pod request. `keep` picks the runs wanted before their pods are fetched; it must not depend on
 * what pods decide (exit code, Pending or Running, output nodes).
 */
export async function listRuns(
  client: KubeClient,
  ns: string,
  keep: (run: RunSummary) => boolean = () => true,
): Promise<RunSummary[]> {
  const selector = labels.runId;
  const [jobs, mpiJobs] = await Promise.all([
    client.list<JobObject>(`/apis/batch/v1/namespaces/${ns}/jobs`, { labelSelector: selector }),
    listMpiJobs(client, ns),
  ]);
  const now = Date.now();
  const summarize = (run: { job: JobObject; mpiJob?: MpiJobObject }, pods: PodObject[]) =>
    run.mpiJob ? summarizeMpiJobRun(run.mpiJob, pods, now) : summarizeRun(run.job, pods, now);
  const runs = [
    ...jobs.items.map((job) => ({ job })),
    ...mpiJobs.map((mpiJob) => ({ job: mpiJobAsJob(mpiJob), mpiJob })),
  ].filter((run) => keep(summarize(run, [])));
  const idOf = (o: { metadata?: { labels?: Record<string, string> } }) => o.metadata?.labels?.[labels.runId] ?? '';
  const needed = [...new Set(runs.filter((run) => summaryNeedsPods(run.job)).map((run) => idOf(run.job)))]
    .filter(Boolean)
    .sort(byText);
  const podsByRun = new Map<string, PodObject[]>();
  if (needed.length > 0) {
    const podSelector = needed.length <= maxIdsInSelector ? `${selector} in (${needed.join(',')})` : selector;
    for (const pod of (await client.list<PodObject>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: podSelector }))
      .items) {
      const id = idOf(pod);
      const list = podsByRun.get(id);
      if (list) list.push(pod);
      else podsByRun.set(id, [pod]);
    }
  }
  return runs.map((run) => summarize(run, podsByRun.get(idOf(run.job)) ?? [])).sort((a, b) => byText(b.runId, a.runId));
}

/** A listed run's object as a Job: the Job, or its MPIJob seen as one (the launcher's pod template). */
export async function getRunObject(
  client: KubeClient,
  ns: string,
  run: Pick<RunSummary, 'job'>,
  kind: RunKind,
  options: { cleanup?: boolean } = {},
): Promise<JobObject> {
  const path = `${runCollectionPath(ns, kind)}/${run.job}`;
  return kind === 'MPIJob'
    ? mpiJobAsJob(await client.request<MpiJobObject>({ path, ...options }))
    : client.request<JobObject>({ path, ...options });
}

/**
 * Deletes a run's Job and its pods, or its MPIJob and everything the operator made for it (its
 * launcher Job, workers, hostfile ConfigMap, SSH Secret and Service carry it as their owner, so the
 * garbage collector deletes them). Outputs on the host are kept.
 */
export async function deleteRun(client: KubeClient, ns: string, name: string, kind: RunKind = 'Job'): Promise<boolean> {
  try {
    await client.request({
      method: 'DELETE',
      path: `${runCollectionPath(ns, kind)}/${name}`,
      query: { propagationPolicy: 'Background' },
      retry: true,
      cleanup: true,
    });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return false;
    throw err;
  }
}
