/**
 * A run is a Job (one pod, or a sweep's pods) or, across nodes, an MPIJob of the MPI Operator.
 * Where each kind lives in the API, and which of its pods carry the run's output: all of a Job's;
 * of an MPIJob's, the launcher's (mpirun prints every rank's output there; the workers' logs are sshd's).
 */
import { labels } from '../kube/vocabulary.js';
import { mpiJobsPath, operatorLabels } from './mpijob-builder.js';

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
