/**
 * The run model: what a run is. Every other module of the runs domain imports it, and it imports
 * none of them (so the domain has no import circle).
 * A run is a Job (one pod, or a sweep's pods) or, across nodes, an MPIJob of the MPI Operator.
 * Where each kind lives in the API, and which of its pods carry the run's output: all of a Job's;
 * of an MPIJob's, the launcher's (mpirun prints every rank's output there; the workers' logs are sshd's).
 * Also here: run ids, a pod's completion index, the terminal condition, the marks of a cancelled
 * run, the summary `keystone jobs` shows, and where a run's directory is.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { JobObject, PodObject } from '../kube/objects.js';
import { annotations, labels } from '../vocabulary.js';

/** Labels the operator puts on the pods it makes (pkg/apis/kubeflow/v2beta1/constants.go; controller defaultLabels). */
export const operatorLabels = {
  jobName: 'training.kubeflow.org/job-name',
  jobRole: 'training.kubeflow.org/job-role',
  replicaIndex: 'training.kubeflow.org/replica-index',
} as const;

export const mpiJobsPath = (namespace: string) => `/apis/kubeflow.org/v2beta1/namespaces/${namespace}/mpijobs`;

export type RunKind = 'Job' | 'MPIJob';

export function runCollectionPath(namespace: string, kind: RunKind): string {
  return kind === 'MPIJob' ? mpiJobsPath(namespace) : `/apis/batch/v1/namespaces/${namespace}/jobs`;
}

/** The label selector of the run's output pods. */
export function runPodSelector(runId: string, kind: RunKind): string {
  return kind === 'MPIJob' ? `${labels.runId}=${runId},${operatorLabels.jobRole}=launcher` : `${labels.runId}=${runId}`;
}

/** A listed run's kind: only runs across nodes report their number of nodes. */
export const runKind = (run: { nodes?: number }): RunKind => (run.nodes !== undefined ? 'MPIJob' : 'Job');

/** An MPIJob run's worker pods (the operator's role label, mpi_job_controller.go defaultLabels). */
export const mpiWorkerSelector = (runId: string): string => `${labels.runId}=${runId},${operatorLabels.jobRole}=worker`;

/** Run ids: sortable by time, short, and valid inside Kubernetes names ("20261125-214700-a3f9"). */
export function newRunId(now: Date, random = randomBytes(2).toString('hex')): string {
  const iso = now.toISOString(); // 2026-11-25T21:47:00.000Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${random}`;
}

export const runIdPattern = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export function jobName(tool: string, runId: string): string {
  return `${tool}-${runId}`;
}

/** A pod's index in an Indexed Job (a sweep); 0 for a Job of one pod. */
export function podIndex(pod: PodObject): number {
  return Number(pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] ?? 0);
}

/**
 * A Job's Complete or Failed condition; an MPIJob's Succeeded (read as Complete) or Failed, which
 * the operator sets from its launcher Job's (mpi_job_controller.go updateMPIJobStatus: the launcher's
 * Failed reason and message, DeadlineExceeded among them).
 */
export function terminalCondition(
  job: Pick<JobObject, 'status'>,
): { type: 'Complete' | 'Failed'; reason?: string; message?: string } | undefined {
  const c = job.status?.conditions?.find(
    (x) => (x.type === 'Complete' || x.type === 'Succeeded' || x.type === 'Failed') && x.status === 'True',
  );
  // The operator appends ": <the failed pod's status message>", often empty (updateMPIJobFailedStatus).
  return c
    ? { type: c.type === 'Failed' ? 'Failed' : 'Complete', reason: c.reason, message: c.message?.replace(/:\s*$/, '') }
    : undefined;
}

/**
 * A cancelled run's exit code: 128 + SIGTERM (15). Deleting its pods makes the kubelet send
 * SIGTERM to their processes (and SIGKILL after the grace period), and a shell reports a process
 * ended by SIGTERM as 143. Cancelling itself is catalog/cancel.ts.
 */
export const cancelledExitCode = 143;
export const cancelledReason = 'Cancelled';
export const cancelledMessage = 'the run was cancelled (keystone jobs cancel)';

/**
 * When `jobs cancel` stopped this run (the annotation's time), or undefined: the run object (a Job,
 * or an MPIJob seen as one) is suspended and carries keystone.io/cancelled-at. Callers check for a
 * Complete/Failed condition first: a run that had ended before it was cancelled keeps its end.
 */
export function cancelledAt(job: Pick<JobObject, 'metadata' | 'spec'>): string | undefined {
  const at = job.metadata?.annotations?.[annotations.cancelledAt];
  return job.spec.suspend === true && at ? at : undefined;
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
  /** A run across nodes (an MPIJob; `job` is its name): how many worker pods. */
  nodes?: number;
  /** The image its pods run: name@sha256:… when pinned by digest (images/pin.ts), else the tag. */
  image?: string;
}

/** The folder under data/<tool>/ that holds one directory per run. */
export const runsFolder = 'runs';

/** A run's record in its run directory (runs/record/record.ts). */
export const recordFileName = 'run-record.json';

/** data/<tool>/runs on this machine. */
export function hostRunsDir(dataDir: string, tool: string): string {
  return join(dataDir, tool, runsFolder);
}

/** data/<tool>/runs/<run-id> on this machine. */
export function hostRunDir(dataDir: string, tool: string, runId: string): string {
  return join(hostRunsDir(dataDir, tool), runId);
}

/** The same directory inside a node, where data/ is mounted at /data (k8s/configs/k3d-cluster-config.yaml volumes). */
export function nodeRunDir(tool: string, runId: string): string {
  return `/data/${tool}/${runsFolder}/${runId}`;
}

/** data/<tool>/runs/<run-id> inside a run volume (a PersistentVolumeClaim on another cluster), from its root. */
export function volumeRunDir(tool: string, runId: string): string {
  return `${tool}/${runsFolder}/${runId}`;
}

/** A run's directory on its volume, for people: `volume CLAIM: tool/runs/id`. */
export function shownVolumeDir(claim: string, tool: string, runId: string): string {
  return `volume ${claim}: ${volumeRunDir(tool, runId)}`;
}
