/**
 * A run's record by run id, from wherever it is: the run directory on this machine
 * (data/<tool>/runs/<id>/run-record.json) and the run object in the cluster (its annotation).
 * Both are checked (a checksum each); when both exist they must be the same record. The outcome
 * is the cluster's while the run object exists (and is then written into the file once the run
 * has ended), else the file's.
 */
import { relative } from 'node:path';
import { KeystoneError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { stackNamespace } from '../../vocabulary.js';
import { canonicalJson, type RunOutcome, type RunRecord } from './record.js';
import type { GuardedDir } from '../../guarded-fs.js';
import { findRecordFile, readRecordFileAsIs, recordEnd, runInCluster } from './store.js';

export interface FoundRecord {
  record: RunRecord;
  /** The outcome now: live from the cluster, else as recorded; null when nobody saw the run end. */
  outcome: RunOutcome | null;
  /** The record file on this machine (relative to the working directory), or null. */
  recordFile: string | null;
  /** Whether the run object (and its record) is still in the cluster. */
  inCluster: boolean;
}

const sameRecord = (a: RunRecord, b: RunRecord) =>
  canonicalJson({ ...a, outcome: undefined, checksum: undefined }) ===
  canonicalJson({ ...b, outcome: undefined, checksum: undefined });

export async function findRecord(
  o: {
    client: () => Promise<KubeClient>;
    dataDir: string;
    /** data/, guarded: the run's end is written into the record file through it. */
    data: GuardedDir;
    cwd: string;
    context: string;
    warn(text: string): void;
  },
  runId: string,
): Promise<FoundRecord> {
  const path = await findRecordFile(o.dataDir, runId);
  const asRead = path ? await readRecordFileAsIs(path, o.cwd) : undefined;
  let fileRecord = asRead?.record;
  let live: Awaited<ReturnType<typeof runInCluster>>;
  try {
    live = await runInCluster(await o.client(), stackNamespace, runId);
  } catch (err) {
    // The cluster is down or gone: the file still says what the run was.
    if (!fileRecord || !(err instanceof KeystoneError)) throw err;
    o.warn(`cannot read run ${runId} from context ${o.context} (${err.message}): showing the record on this machine`);
    live = undefined;
  }
  const recordFile = path ? relative(o.cwd, path) || path : null;
  if (live && !live.record && !fileRecord) {
    throw new KeystoneError(
      `run ${runId} has no record: it was submitted by a keystone that kept none (before run records)`,
      { hint: `\`keystone describe ${runId}\` shows what the cluster knows of it` },
    );
  }
  if (live?.record && fileRecord && !sameRecord(live.record, fileRecord)) {
    throw new KeystoneError(`the run record ${recordFile} and the cluster's record of run ${runId} differ`, {
      hint: "both carry checksums, so one was replaced by another run's record; nothing was changed",
    });
  }
  const record = live?.record ?? fileRecord;
  if (!record) {
    throw new KeystoneError(
      `no record of run ${runId}: no run ${runId} in context ${o.context}, and no data/<tool>/runs/${runId}/${'run-record.json'} on this machine`,
      {
        hint: 'a run on another cluster is found with --context; `keystone jobs --all` lists the runs the cluster still has',
      },
    );
  }
  if (path && asRead && live?.outcome.ended) {
    const read = asRead;
    fileRecord = await recordEnd(o.data, { path, ...read }, live.outcome).catch((err: unknown) => {
      // Shown all the same (the cluster has the end); the file keeps what it had.
      o.warn(`could not write the run's end into ${recordFile}: ${(err as Error).message}`);
      return read.record;
    });
  }
  return {
    record: fileRecord ?? record,
    outcome: live?.outcome ?? fileRecord?.outcome ?? null,
    recordFile,
    inCluster: Boolean(live),
  };
}
