/**
 * `keystone describe <run-id>`: a run as `kubectl describe` would show its Job (or MPIJob) and
 * pods, in the same document as a deployment's or a pod's (operate/describe.ts): its state
 * from the run's summary, then conditions, containers, mounts and recent events.
 */
import { KeystoneError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { JobObject } from '../../kube/objects.js';
import {
  conditionsOf,
  containersOf,
  eventsAbout,
  mountsOf,
  podRefs,
  type Description,
  type FullPod,
  type WithTemplate,
} from '../../operate/describe.js';
import { listPods } from '../../operate/stack-objects.js';
import { labels, stackNamespace } from '../../vocabulary.js';
import { mpiJobAsJob } from '../build/mpijob.js';
import { listMpiJobs, summarizeMpiJobRun, summarizeRun } from './list.js';

export async function describeRun(client: KubeClient, id: string, ns = stackNamespace): Promise<Description> {
  const selector = `${labels.runId}=${id}`;
  // A run is a Job, or across nodes an MPIJob (its pods: the launcher's and the workers').
  const [{ items: jobs }, mpiJobs] = await Promise.all([
    client.list<JobObject>(`/apis/batch/v1/namespaces/${ns}/jobs`, { labelSelector: selector }),
    listMpiJobs(client, ns, selector),
  ]);
  const mpiJob = jobs[0] ? undefined : mpiJobs[0];
  const job = jobs[0] ?? (mpiJob && mpiJobAsJob(mpiJob));
  if (!job) throw new KeystoneError(`no run ${id}`, { hint: '`keystone jobs --all` lists every run' });
  const pods = (await listPods(client, ns, selector)) as FullPod[];
  const run = mpiJob ? summarizeMpiJobRun(mpiJob, pods) : summarizeRun(job, pods);
  const name = job.metadata?.name ?? '';
  const sweep = run.sweep ? ` (${run.sweep.succeeded}/${run.sweep.total} ok, ${run.sweep.failed} failed)` : '';
  return {
    kind: 'Run',
    name: id,
    status: `${run.state}${run.reason ? ` (${run.reason})` : ''}${sweep}${run.exitCode !== undefined ? `, exit code ${run.exitCode}` : ''}, ${mpiJob ? `MPIJob ${name} (${run.nodes} nodes)` : `job ${name}`}`,
    healthy: run.state !== 'Failed',
    conditions: conditionsOf(job),
    containers: containersOf(pods),
    mounts: mountsOf((job as WithTemplate).spec?.template?.spec),
    events: await eventsAbout(client, ns, [{ kind: mpiJob ? 'MPIJob' : 'Job', name }, ...podRefs(pods)]),
  };
}
