/**
 * Following a run like `sbatch --wait` with the output shown: state changes with the reason when
 * it is stuck, the pod's logs as they come, and the outcome with the container's exit code.
 * It stops on Complete or Failed (never sits until a timeout on a failed Job), or when the run is
 * cancelled (`jobs cancel` of a run on a volume suspends it: exit 143, reason Cancelled).
 */
import { KeystoneError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { watchUntil } from '../../kube/watch-until.js';
import { followLogs } from '../../operate/follow-logs.js';
import { summarizePod } from '../../operate/pod-summary.js';
import { podProblem } from '../../stack/rollout.js';
import {
  cancelledAt,
  cancelledExitCode,
  cancelledMessage,
  cancelledReason,
  mpiWorkerSelector,
  podIndex,
  runCollectionPath,
  runPodSelector,
  terminalCondition,
  type RunKind,
} from '../model.js';
import { byText } from '../../text-order.js';
import { mpiJobAsJob } from '../build/mpijob.js';
import type { KubeObject, PodObject, JobObject, MpiJobObject } from '../../kube/objects.js';
import { volumeNodeProblem } from '../storage/volume-node.js';
import { explainUnschedulable } from '../catalog/list.js';
import { annotations } from '../../vocabulary.js';

/** A run's pod can never start (its image cannot be pulled): nothing ran, and waiting will not help. */
export class RunCannotStartError extends KeystoneError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
    this.name = 'RunCannotStartError';
  }
}

export interface IndexOutcome {
  index: number;
  state: 'Succeeded' | 'Failed' | 'Running' | 'Pending';
  exitCode?: number;
  reason?: string;
}

export interface RunOutcome {
  state: 'Succeeded' | 'Failed' | 'Detached' | 'NotStarted';
  exitCode: number;
  reason?: string;
  message?: string;
  indexes: IndexOutcome[];
}

export interface FollowRunOptions {
  namespace: string;
  runId: string;
  indexed: boolean;
  /** A Job (the default) or, across nodes, an MPIJob followed through its launcher's pod. */
  kind?: RunKind;
  signal: AbortSignal;
  onState: (text: string) => void;
  onLine: (prefix: string | undefined, text: string) => void;
  onNotice: (text: string) => void;
  /** Local images, so an image that cannot be pulled gets the "import it" hint. */
  localImages: string[];
  /** Deadline for the whole follow (the Job's own deadline plus a margin, or long). */
  timeoutMs: number;
}

const imageProblems = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
]);

/** The state line for the run from its pods ("Running on k3d-…-agent-1", "Pending: Unschedulable: …"). */
export function describePods(pods: PodObject[], indexed: boolean): string {
  if (pods.length === 0) return 'Pending: waiting for the pod to be created';
  if (indexed) {
    const s = pods.map((p) => summarizePod(p));
    const count = (pred: (x: (typeof s)[number]) => boolean) => s.filter(pred).length;
    return `${count((x) => x.phase === 'Succeeded')} succeeded, ${count((x) => x.phase === 'Failed')} failed, ${count((x) => x.phase === 'Running')} running, ${count((x) => x.phase === 'Pending')} pending`;
  }
  const pod = [...pods].sort((a, b) =>
    byText(b.metadata?.creationTimestamp ?? '', a.metadata?.creationTimestamp ?? ''),
  )[0]!;
  const summary = summarizePod(pod);
  if (summary.phase === 'Running') return `Running on ${summary.node}`;
  if (summary.phase === 'Pending') {
    const problem = podProblem(pod);
    if (problem)
      return `Pending: ${(problem.reason === 'Unschedulable' && explainUnschedulable(problem.message)) || `${problem.reason}${problem.message ? `: ${problem.message}` : ''}`}`;
    return summary.status === 'Pending' ? 'Pending' : `Pending: ${summary.status}`;
  }
  return summary.phase;
}

/** An MPIJob's state before its launcher exists ("Pending: 1/2 workers running", or why one waits). */
function describeWorkers(workers: PodObject[]): string {
  const stuck = workers.map((w) => podProblem(w)).find((p) => p !== undefined);
  if (stuck) return `Pending: worker ${stuck.pod}: ${stuck.reason}${stuck.message ? `: ${stuck.message}` : ''}`;
  return `Pending: ${workers.filter((w) => summarizePod(w).phase === 'Running').length}/${workers.length} workers running`;
}

/**
 * A worker that ended before the launcher exists. With WaitForWorkersReady the operator then
 * neither replaces it (getOrCreateWorker creates only missing pods) nor fails the MPIJob
 * (updateMPIJobStatus fails it only for evicted workers): kubeflow/mpi-operator v0.8.2
 * pkg/controller/mpi_job_controller.go. The run would wait for ever, so it cannot start.
 */
function endedWorker(workers: PodObject[]): RunCannotStartError | undefined {
  for (const w of workers) {
    const statuses = w.status?.containerStatuses ?? [];
    const crashing = statuses.find((c) => c.state?.waiting?.reason === 'CrashLoopBackOff');
    const ended = statuses.find((c) => c.state?.terminated);
    if (w.status?.phase !== 'Failed' && w.status?.phase !== 'Succeeded' && !crashing) continue;
    const code = ended?.state?.terminated?.exitCode ?? crashing?.lastState?.terminated?.exitCode;
    const how = crashing ? 'keeps exiting' : 'exited';
    return new RunCannotStartError(
      `the run cannot start: worker ${w.metadata?.name} ${how}${code !== undefined ? ` with code ${code}` : ''} before the launcher started (its sshd must keep running)`,
      `see why: kubectl logs -n ${w.metadata?.namespace} ${w.metadata?.name}${crashing ? ' --previous' : ''}`,
    );
  }
  return undefined;
}

export async function followRun(client: KubeClient, job: KubeObject, o: FollowRunOptions): Promise<RunOutcome> {
  const kind = o.kind ?? 'Job';
  const pods = new Map<string, PodObject>();
  const stop = new AbortController();
  const onOuter = () => stop.abort();
  o.signal.addEventListener('abort', onOuter);
  let lastState = '';
  let stuck: KeystoneError | undefined;
  let markDone!: () => void;
  const done = new Promise<void>((resolve) => (markDone = resolve));

  const observe = (pod: PodObject, deleted: boolean) => {
    const name = pod.metadata?.name ?? '';
    if (deleted) pods.delete(name);
    else pods.set(name, pod);
    showState(describePods([...pods.values()], o.indexed));
    checkStart(pods.values());
  };
  const showState = (state: string) => {
    if (state !== lastState) {
      lastState = state;
      o.onState(state);
    }
  };
  // A run on its own volume that no node can take: is the volume's node gone or NotReady (the run
  // cannot start by waiting), or only full (it waits)? Asked once per scheduler message.
  const claim = (job.metadata?.annotations as Record<string, string> | undefined)?.[annotations.outputClaim];
  const askedAbout = new Set<string>();
  const checkVolumeNode = (message: string) => {
    if (!claim || askedAbout.has(message)) return;
    askedAbout.add(message);
    void volumeNodeProblem(client, o.namespace, claim, o.runId).then(
      (problem) => {
        if (problem && !stuck) {
          stuck = new RunCannotStartError(`the run cannot start: ${problem.message}`, problem.hint);
          stop.abort();
        }
      },
      () => undefined, // the state line still says what the scheduler says
    );
  };
  const checkStart = (seen: Iterable<PodObject>) => {
    for (const p of seen) {
      const problem = podProblem(p, o.localImages);
      if (problem && imageProblems.has(problem.reason) && !stuck) {
        stuck = new RunCannotStartError(
          `the run cannot start: pod ${problem.pod}: ${problem.reason}${problem.message ? `: ${problem.message}` : ''}`,
          problem.hint,
        );
        stop.abort();
      }
      if (problem?.reason === 'Unschedulable' && explainUnschedulable(problem.message))
        checkVolumeNode(problem.message);
    }
  };

  // An MPIJob's launcher is created once its workers are Ready (WaitForWorkersReady): until then
  // the workers are the run's state, and a worker that cannot start is the run's problem.
  const workersStop = new AbortController();
  stop.signal.addEventListener('abort', () => workersStop.abort(), { once: true });
  const workerWatch =
    kind === 'MPIJob'
      ? watchUntil<PodObject>({
          client,
          path: `/api/v1/namespaces/${o.namespace}/pods`,
          query: { labelSelector: mpiWorkerSelector(o.runId) },
          what: `the workers of run ${o.runId}`,
          timeoutMs: o.timeoutMs,
          signal: workersStop.signal,
          evaluate: (seen) => {
            if (pods.size === 0) {
              showState(describeWorkers(seen));
              const ended = stuck ? undefined : endedWorker(seen);
              if (ended) {
                stuck = ended;
                stop.abort();
              }
            }
            checkStart(seen);
            return { done: false, progress: '' };
          },
        }).catch(() => undefined)
      : undefined;

  const logs = followLogs(
    client,
    { kind: 'simulation', name: job.metadata?.name ?? '', selector: runPodSelector(o.runId, kind) },
    [],
    {
      follow: true,
      timestamps: false,
      previous: false,
      namespace: o.namespace,
      prefix: o.indexed ? (pod) => `${podIndex(pod)}` : () => undefined,
      stopWhen: done,
      observe,
    },
    { line: (prefix, _key, text) => o.onLine(prefix, text), notice: o.onNotice },
    stop.signal,
  );

  // The run object as a Job (an MPIJob's runPolicy.suspend read as suspend), and whether it ended:
  // Complete/Failed, or cancelled by `jobs cancel` (suspended and kept: its pods are deleted, and
  // no Complete/Failed condition ever comes).
  const asJob = (j: JobObject): JobObject => (kind === 'MPIJob' ? mpiJobAsJob(j as unknown as MpiJobObject) : j);
  const ended = (j: JobObject) => terminalCondition(j) !== undefined || cancelledAt(j) !== undefined;
  let finished: JobObject | undefined;
  try {
    const result = await watchUntil<JobObject>({
      client,
      path: runCollectionPath(o.namespace, kind),
      query: { fieldSelector: `metadata.name=${job.metadata?.name}` },
      what: `run ${o.runId} to finish`,
      timeoutMs: o.timeoutMs,
      signal: stop.signal,
      evaluate: ([j]) => ({ done: j !== undefined && ended(asJob(j)), progress: '' }),
    });
    finished = result.objects[0] && asJob(result.objects[0]);
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    markDone();
    workersStop.abort();
    await workerWatch;
    await logs.catch(() => undefined);
    o.signal.removeEventListener('abort', onOuter);
  }
  if (stuck) throw stuck;
  if (!finished || o.signal.aborted) return { state: 'Detached', exitCode: 130, indexes: indexesOf(pods) };

  const condition = terminalCondition(finished);
  const indexes = indexesOf(pods);
  if (!condition) {
    // Cancelled: the indexes still going when it was are stopped by it (their pods deleted).
    const stopped = indexes.map(
      (i): IndexOutcome =>
        i.state === 'Running' || i.state === 'Pending'
          ? { index: i.index, state: 'Failed', exitCode: cancelledExitCode, reason: cancelledReason }
          : i,
    );
    return {
      state: 'Failed',
      exitCode: cancelledExitCode,
      reason: cancelledReason,
      message: cancelledMessage,
      indexes: stopped,
    };
  }
  if (condition.type === 'Complete') return { state: 'Succeeded', exitCode: 0, indexes };
  const failedIndex = indexes.find((i) => i.state === 'Failed' && i.exitCode !== undefined && i.exitCode !== 0);
  if (condition.reason === 'DeadlineExceeded') {
    return {
      state: 'Failed',
      exitCode: 124,
      reason: 'DeadlineExceeded',
      message: 'the run went past its --timeout and was stopped',
      indexes,
    };
  }
  return {
    state: 'Failed',
    exitCode: failedIndex?.exitCode ?? 1,
    reason: failedIndex?.reason ?? condition.reason,
    message: condition.message,
    indexes,
  };
}

function indexesOf(pods: Map<string, PodObject>): IndexOutcome[] {
  const byIndex = new Map<number, IndexOutcome>();
  for (const pod of pods.values()) {
    const index = podIndex(pod);
    const terminated = pod.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
    const phase = pod.status?.phase;
    const outcome: IndexOutcome = {
      index,
      state: phase === 'Succeeded' || phase === 'Failed' || phase === 'Running' ? phase : 'Pending',
      ...(terminated?.exitCode !== undefined ? { exitCode: terminated.exitCode } : {}),
      ...(terminated?.reason ? { reason: terminated.reason } : {}),
    };
    const previous = byIndex.get(index);
    // A retried index: the latest attempt decides.
    if (!previous || previous.state === 'Failed') byIndex.set(index, outcome);
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}
