/**
 * Where run records live and how they are read back: run-record.json in the run directory on this
 * machine, and the keystone.io/run-record annotation of the run's Job (or MPIJob) in the cluster.
 * The outcome (state, times, exit code, nodes, the image the pods ran) is read live from the
 * cluster while the run object exists, and written into the file once the run has ended.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { GuardedDir } from '../../guarded-fs.js';
import { annotations, labels } from '../../vocabulary.js';
import type { KubeClient } from '../../kube/client.js';
import type { JobObject, PodObject } from '../../kube/objects.js';
import { listMpiJobs, summarizeMpiJobRun, summarizeRun } from '../catalog/list.js';
import { mpiJobAsJob } from '../build/mpijob.js';
import { hostRunDir, cancelledReason, type RunSummary } from '../model.js';
import { parseRecord, recordFileName, recordText, sealRecord, type RunOutcome, type RunRecord } from './record.js';

export const recordFilePath = (dataDir: string, tool: string, runId: string): string =>
  join(hostRunDir(dataDir, tool, runId), recordFileName);

/**
 * Writes the record whole or not at all, through the guarded data directory (src/guarded-fs.ts):
 * never outside data/ (a data/<tool>/runs linked elsewhere is refused), never through a symlink,
 * and an existing file only when it still holds `replaces`, the record keystone read from it.
 */
export async function writeRecordFile(
  data: GuardedDir,
  path: string,
  record: RunRecord,
  replaces?: string,
): Promise<void> {
  await data.replaceFile(path, recordText(record), { mode: 0o644, ...(replaces ? { replaces } : {}) });
}

/** What a record file holds once keystone wrote `record` into it: its SHA-256 (for `replaces`). */
export const writtenRecordSha256 = (record: RunRecord): string => sha256Hex(recordText(record));

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

export async function readRecordFile(path: string, cwd: string): Promise<RunRecord> {
  return (await readRecordFileAsIs(path, cwd)).record;
}

/** The record and the SHA-256 of the file as read (so an update replaces only that). */
export async function readRecordFileAsIs(path: string, cwd: string): Promise<{ record: RunRecord; sha256: string }> {
  const text = await readFile(path, 'utf8');
  return { record: parseRecord(text, relative(cwd, path) || path), sha256: sha256Hex(text) };
}

/** data/<tool>/runs/<id>/run-record.json for whichever tool has it, or undefined. */
export async function findRecordFile(dataDir: string, runId: string): Promise<string | undefined> {
  let tools: string[];
  try {
    tools = (await readdir(dataDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return undefined;
  }
  return tools.map((tool) => recordFilePath(dataDir, tool, runId)).find((p) => existsSync(p));
}

/** The record in a run object's annotation, or undefined when it has none (a run from before records). */
export function recordOfObject(job: JobObject): RunRecord | undefined {
  const text = job.metadata?.annotations?.[annotations.runRecord];
  return text === undefined
    ? undefined
    : parseRecord(text, `of run ${job.metadata?.name} (annotation ${annotations.runRecord})`);
}

/** How a run ended, in the record's words. */
function ended(run: RunSummary): RunOutcome['ended'] {
  if (run.state === 'Succeeded') return 'succeeded';
  if (run.state !== 'Failed') return undefined;
  if (run.reason === cancelledReason) return 'cancelled';
  if (run.reason === 'DeadlineExceeded') return 'timed-out';
  return 'failed';
}

/** The outcome as the cluster shows it now: the run's summary and its pods (output pods and workers). */
export function outcomeOf(run: RunSummary, pods: PodObject[]): RunOutcome {
  const nodes = [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => Boolean(n)))].sort();
  const imageIds = [
    ...new Set(pods.flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => c.imageID ?? '')).filter(Boolean)),
  ].sort();
  const outcome: RunOutcome = { state: run.state, nodes, imageIds };
  const how = ended(run);
  if (how) outcome.ended = how;
  if (run.reason) outcome.reason = run.reason;
  if (run.startedAt) outcome.startedAt = run.startedAt;
  if (run.finishedAt) outcome.finishedAt = run.finishedAt;
  if (run.exitCode !== undefined) outcome.exitCode = run.exitCode;
  return outcome;
}

/** The run's end in its record file (once: a record that has its end is left as it is). */
export async function recordEnd(
  data: GuardedDir,
  file: { path: string; record: RunRecord; sha256: string },
  outcome: RunOutcome,
): Promise<RunRecord> {
  const { path, record } = file;
  if (record.outcome?.ended || !outcome.ended) return record;
  // What an earlier look saw (nodes, images) stays when the pods are gone now.
  const merged: RunOutcome = {
    ...outcome,
    nodes: outcome.nodes.length ? outcome.nodes : (record.outcome?.nodes ?? []),
    imageIds: outcome.imageIds.length ? outcome.imageIds : (record.outcome?.imageIds ?? []),
  };
  const next = sealRecord({ ...record, outcome: merged });
  await writeRecordFile(data, path, next, file.sha256);
  return next;
}

/**
 * The run as the cluster shows it now, with its record (annotation) and outcome; undefined when
 * the cluster has no run object with this id (cleaned, or never there).
 */
export async function runInCluster(
  client: KubeClient,
  ns: string,
  runId: string,
): Promise<{ summary: RunSummary; object: JobObject; record: RunRecord | undefined; outcome: RunOutcome } | undefined> {
  const selector = `${labels.runId}=${runId}`;
  const [{ items: jobs }, mpiJobs, { items: pods }] = await Promise.all([
    client.list<JobObject>(`/apis/batch/v1/namespaces/${ns}/jobs`, { labelSelector: selector }),
    listMpiJobs(client, ns, selector),
    client.list<PodObject>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: selector }),
  ]);
  const job = jobs.find((j) => !j.metadata?.ownerReferences); // an MPIJob's launcher Job is the MPIJob's
  const mpiJob = job ? undefined : mpiJobs[0];
  if (!job && !mpiJob) return undefined;
  const summary = mpiJob ? summarizeMpiJobRun(mpiJob, pods) : summarizeRun(job!, pods);
  const object = mpiJob ? mpiJobAsJob(mpiJob) : job!;
  return { summary, object, record: recordOfObject(object), outcome: outcomeOf(summary, pods) };
}
