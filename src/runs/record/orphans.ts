/**
 * Run directories without a run: data/<tool>/runs/<id>/ whose Job (or MPIJob) is gone from the
 * cluster: a run cancelled before it could start (its image could not be pulled), or cleaned
 * without --purge-outputs. No other command lists them; `keystone jobs --orphans` does and
 * `keystone jobs clean --orphans` removes them.
 *
 * Each directory belongs to the cluster its run record names (cluster.context): runs of the
 * keystone cluster are staged here, runs of another cluster arrive by `jobs fetch` with their
 * record. A directory is an orphan of the chosen context only when it belongs to that context and
 * the context has no run with its id. The directories are read before the runs are listed: a run
 * writes its record only after its Job exists, so a directory with a record whose run the later
 * listing lacks truly has none. A directory without a record may be one being staged right now
 * (the Job comes after the staging): one made within the last hour is left out.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../../kube/client.js';
import { listRuns } from '../catalog/list.js';
import { hostRunsDir, recordFileName, runIdPattern } from '../model.js';
import { k3dContextName } from '../../kube/target.js';

/** A directory without a record this young may be a run being staged now: never counted. */
export const stagingGraceMs = 60 * 60_000;

export interface RunDir {
  runId: string;
  tool: string;
  /** The directory, absolute. */
  dir: string;
  /** The context its record names; null without a readable record (then a run of the keystone cluster: only its runs are staged here). */
  context: string | null;
  /** Whether it has a run record (run-record.json) keystone could read. */
  recorded: boolean;
  /** When the run was submitted: its record's time, else the time in its run id. */
  submittedAt: string;
  /** The image its record names, if any. */
  image?: string;
}

export interface Orphans {
  /** The context the directories were compared with. */
  context: string;
  /** Directories of this context whose run is not there, oldest first. */
  orphans: RunDir[];
  /** Directories of runs on other contexts (not compared): how many per context. */
  elsewhere: Map<string, number>;
  /** The keystone cluster's context (k3d-<name>): directories without a record belong to it. */
  localContext: string;
  /** Directories without a record made within stagingGraceMs: perhaps being submitted now. */
  young: RunDir[];
}

/** The time in a run id (20261125-214700-a3f9: UTC), as RFC 3339. */
export function runIdTime(runId: string): string {
  const d = runId;
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`;
}

async function dirents(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Every data/<tool>/runs/<run-id>/ directory on this machine (named like a run id; nothing else), with what its record says. */
export async function runDirsOnDisk(dataDir: string, only?: { tool?: string | undefined }): Promise<RunDir[]> {
  const found: RunDir[] = [];
  for (const tool of await dirents(dataDir)) {
    if (!tool.isDirectory() || (only?.tool !== undefined && tool.name !== only.tool)) continue;
    const runs = hostRunsDir(dataDir, tool.name);
    for (const entry of await dirents(runs)) {
      if (!entry.isDirectory() || !runIdPattern.test(entry.name)) continue;
      const dir = join(runs, entry.name);
      const record = await readRecordLightly(join(dir, recordFileName));
      found.push({
        runId: entry.name,
        tool: tool.name,
        dir,
        context: record?.context ?? null,
        recorded: Boolean(record),
        submittedAt: record?.submittedAt ?? runIdTime(entry.name),
        ...(record?.image ? { image: record.image } : {}),
      });
    }
  }
  return found.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
}

/**
 * The few fields a listing needs, without checking the record's checksum: nothing is trusted
 * from it that could lead to a deletion (a record naming another context only keeps its
 * directory out of the comparison).
 */
async function readRecordLightly(
  file: string,
): Promise<{ context?: string; submittedAt?: string; image?: string } | undefined> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as {
      cluster?: { context?: unknown };
      submittedAt?: unknown;
      image?: { ref?: unknown };
    };
    const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const context = text(json.cluster?.context);
    if (!context) return undefined;
    return { context, submittedAt: text(json.submittedAt), image: text(json.image?.ref) };
  } catch {
    return undefined;
  }
}

/**
 * The run directories on this machine that belong to `target` and have no run there. `runIds`:
 * the ids the caller already listed (after it read `dirs`), else they are listed here.
 */
export async function findOrphans(
  o: {
    dataDir: string;
    target: { context: string; clusterName: string };
    client: () => Promise<KubeClient>;
    namespace: string;
    tool?: string | undefined;
    now?: number;
  },
  known?: { dirs: RunDir[]; runIds: ReadonlySet<string> },
): Promise<Orphans> {
  // The directories first, then the runs (see the top of this file).
  const dirs = known?.dirs ?? (await runDirsOnDisk(o.dataDir, { tool: o.tool }));
  const runIds = known?.runIds ?? (await runIdsIn(await o.client(), o.namespace));
  const now = o.now ?? Date.now();
  const localContext = k3dContextName(o.target.clusterName);
  const result: Orphans = { context: o.target.context, orphans: [], elsewhere: new Map(), young: [], localContext };
  for (const d of dirs) {
    const where = d.context ?? localContext;
    if (where !== o.target.context) {
      result.elsewhere.set(where, (result.elsewhere.get(where) ?? 0) + 1);
      continue;
    }
    if (runIds.has(d.runId)) continue;
    if (!d.recorded && now - Date.parse(runIdTime(d.runId)) < stagingGraceMs) result.young.push(d);
    else result.orphans.push(d);
  }
  return result;
}

/** Every run's id in the namespace (Jobs and MPIJobs; no pod is fetched: no run is kept for a summary). */
async function runIdsIn(client: KubeClient, namespace: string): Promise<Set<string>> {
  const ids = new Set<string>();
  await listRuns(client, namespace, (run) => {
    ids.add(run.runId);
    return false;
  });
  return ids;
}

/** The bytes a directory tree holds (files and links as they are; nothing followed). */
export async function treeBytes(dir: string, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (const entry of await dirents(dir)) {
    if (signal?.aborted) break;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path, signal);
    else
      total += await lstat(path).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

/** What the user is told about directories left out of the comparison. */
export function orphanNotes(found: Orphans): string[] {
  const notes: string[] = [];
  if (found.elsewhere.size) {
    const n = [...found.elsewhere.values()].reduce((a, b) => a + b, 0);
    const where = [...found.elsewhere.entries()]
      .map(([c, k]) => `${c}: ${k} (${c === found.localContext ? 'without --context' : `--context ${c}`})`)
      .join(', ');
    notes.push(
      `${n} run director${n === 1 ? 'y belongs' : 'ies belong'} to runs of other clusters, not compared here: ${where}`,
    );
  }
  if (found.young.length) {
    const n = found.young.length;
    notes.push(
      `${n} run director${n === 1 ? 'y' : 'ies'} without a run record made in the last hour left out (a run may be being submitted): ${found.young.map((d) => d.runId).join(', ')}`,
    );
  }
  return notes;
}
