/**
 * Cancelling a run whose outputs are on a volume (another cluster) the way `scancel` does: the
 * run is stopped and its record kept, so `keystone jobs fetch` still finds its outputs through
 * it and `keystone jobs clean` removes it later. Stopping is suspending: keystone marks the run
 * object with keystone.io/cancelled-at and sets its suspend field; the controllers then delete
 * its pods and keep the object:
 *   - a Job (kubernetes/kubernetes pkg/controller/job/job_controller.go manageJob): a suspended
 *     Job's active pods are deleted, status.active goes to 0, the Suspended condition is set,
 *     status.startTime is kept (only a resume resets it) and no Complete/Failed condition comes;
 *   - an MPIJob (kubeflow/mpi-operator v0.8.2 pkg/controller/mpi_job_controller.go syncHandler):
 *     runPolicy.suspend makes the operator suspend its launcher Job (whose pods the Job
 *     controller then deletes) and delete its worker pods, and set the conditions Suspended=True
 *     and Running=False (reason MPIJobSuspended); the MPIJob, launcher Job, Service, ConfigMap
 *     and Secret stay.
 * A run on the keystone cluster (outputs in ./data) is still deleted (list.ts deleteRun).
 */
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { InterruptedError, KeystoneError } from '../../errors.js';
import { watchUntil, WaitTimeoutError } from '../../kube/watch-until.js';
import { annotations } from '../../vocabulary.js';
import { mpiJobAsJob } from '../build/mpijob.js';
import { cancelledReason, runCollectionPath, type RunKind, type RunSummary } from '../model.js';
import type { JobObject, MpiJobObject } from '../../kube/objects.js';

/** How a run that cancelling did not stop had ended: "was already cancelled", "had already succeeded". */
export function alreadyEnded(run: Pick<RunSummary, 'state' | 'reason'>): string {
  return run.reason === cancelledReason ? 'was already cancelled' : `had already ${run.state.toLowerCase()}`;
}

/** The run object was deleted between keystone's listing and its patch (`kubectl delete`, another `jobs clean`). */
export class RunGoneError extends KeystoneError {
  constructor(kind: RunKind, name: string) {
    super(`its ${kind} ${name} was deleted while keystone was cancelling it`, {
      hint: '`keystone jobs` lists the runs there are',
    });
    this.name = 'RunGoneError';
  }
}

/** RFC 3339 to the second, as the API server writes its times. */
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * Suspends a run and marks it cancelled (one merge patch: the mark and the suspend land together,
 * so nobody sees one without the other). An MPIJob's launcher Job gets the mark too when it exists:
 * `keystone status` reads batch Jobs only, and the operator's Update of the launcher keeps it.
 * Returns the run object as it is after the patch, as a Job.
 */
export async function suspendRun(
  client: KubeClient,
  ns: string,
  name: string,
  kind: RunKind,
  now = new Date(),
): Promise<JobObject> {
  const mark = { annotations: { [annotations.cancelledAt]: rfc3339(now) } };
  const path = `${runCollectionPath(ns, kind)}/${name}`;
  // Setting the same fields again is harmless, so a 429/5xx may be retried.
  const patch = <T>(at: string, body: unknown) =>
    client.request<T>({
      method: 'PATCH',
      path: at,
      body,
      contentType: 'application/merge-patch+json',
      retry: true,
      cleanup: true,
    });
  const gone = (err: unknown): never => {
    throw err instanceof KubeApiError && err.statusCode === 404 ? new RunGoneError(kind, name) : err;
  };
  if (kind === 'Job') return patch<JobObject>(path, { metadata: mark, spec: { suspend: true } }).catch(gone);
  const updated = mpiJobAsJob(
    await patch<MpiJobObject>(path, { metadata: mark, spec: { runPolicy: { suspend: true } } }).catch(gone),
  );
  const launcher = `${name}-launcher`;
  try {
    await patch<JobObject>(`${runCollectionPath(ns, 'Job')}/${launcher}`, { metadata: mark });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
    // Not made yet (its workers were not ready): the operator makes it now, suspended and without
    // the mark (mpi-operator v0.8.2 mpi_job_controller.go newLauncherJob: Suspend =
    // isMPIJobSuspended). Without the mark `keystone status` would show the run Pending: wait for
    // it a little and mark it. A suspended launcher alone does not say "cancelled" (a queue such
    // as Kueue suspends MPIJobs too), so the mark is what counts.
    await markLauncherOnceMade(client, ns, launcher, (at) => patch<JobObject>(at, { metadata: mark }));
  }
  return updated;
}

/** How long `jobs cancel` waits for the operator to make a cancelled MPIJob's launcher Job. */
const launcherWaitMs = 10_000;

async function markLauncherOnceMade(
  client: KubeClient,
  ns: string,
  launcher: string,
  mark: (path: string) => Promise<unknown>,
): Promise<void> {
  try {
    await watchUntil<JobObject>({
      client,
      path: runCollectionPath(ns, 'Job'),
      query: { fieldSelector: `metadata.name=${launcher}` },
      what: `the MPI Operator to make ${launcher}`,
      timeoutMs: launcherWaitMs,
      evaluate: ([job]) => ({ done: job !== undefined, progress: '' }),
    });
    await mark(`${runCollectionPath(ns, 'Job')}/${launcher}`);
  } catch (err) {
    // Not made in time (no operator answering): the MPIJob, which `jobs` reads, holds the mark.
    // Ctrl-C (the cancel itself may be Ctrl-C's, with --cancel-on-interrupt) ends the wait the same way.
    if (
      !(
        err instanceof WaitTimeoutError ||
        err instanceof InterruptedError ||
        (err instanceof KubeApiError && err.statusCode === 404)
      )
    )
      throw err;
  }
}
