/**
 * Where a run's input and outputs live, one strategy per kind of cluster:
 *   - the local k3d cluster: ./data is mounted at /data on every node, so the input is staged in
 *     data/<tool>/runs/<run-id>/ on this machine and the outputs appear beside it as they are written;
 *   - another cluster (--context): the input travels with the Job (a ConfigMap copied in by an
 *     init container) and the outputs stay on the node that ran the pod.
 * submit-run.ts asks the storage to stage, to shape the Job, to finish after the Job exists, and
 * to undo its staging when the submission fails: nothing half-done stays behind.
 */
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { KeystoneError } from '../errors.js';
import { describeFsError } from '../fs-errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeTarget } from '../kube/target.js';
import { hostRunDir, labels, nodeRunDir } from '../kube/vocabulary.js';
import type { BuildOptions, JobObject } from './job-builder.js';
import type { ResolvedInput } from './input.js';
import type { Sweep } from './run-options.js';
import { chownTree, currentIdentity, runAsForLocalCluster, type RunAs } from './run-as.js';
import { stageInConfigMap, stageOnHost, type ConfigMapStaging } from './staging.js';

export interface RunPlace {
  tool: string;
  runId: string;
  /** The run's Job name (its ConfigMap, if any, is named after it). */
  name: string;
  namespace: string;
  input: ResolvedInput;
  sweep?: Sweep;
}

export interface RunStorage {
  /** The run directory as the pod sees it (its working directory). */
  workingDir: string;
  /** The run directory as `jobs -o json` reports it (outputDir): on this machine, or on the node. */
  outputDir: string;
  /** keystone.io/output-on: "host" (this machine) or "node". */
  outputOn: 'host' | 'node';
  /** The run directory as messages show it. */
  shown: string;
  /** Every node sees the same run directory (a run across nodes, --nodes, needs it). */
  sharedAcrossNodes?: boolean;
  /** Puts the input where the pod will find it; a note for the user when there is one. */
  stage(): Promise<string | undefined>;
  /** What the Job needs from this storage (uid, volumes, init containers). */
  jobOptions(): Pick<BuildOptions, 'runAs' | 'configMap'>;
  /** After the Job exists: objects that belong to it. */
  afterCreate(client: KubeClient, created: JobObject): Promise<void>;
  /** The submission failed: removes what stage() made. */
  discard(): Promise<void>;
}

export interface StorageContext {
  target: KubeTarget;
  dataDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function storageFor(ctx: StorageContext, run: RunPlace): RunStorage {
  return ctx.target.local ? hostStorage(ctx, run) : configMapStorage(ctx, run);
}

function hostStorage(ctx: StorageContext, run: RunPlace): RunStorage {
  const dir = hostRunDir(ctx.dataDir, run.tool, run.runId);
  const shown = relative(ctx.cwd, dir) || dir;
  const toolDir = join(ctx.dataDir, run.tool);
  // The pod writes ./data through a hostPath: it runs as the directory's owner (run-as.ts).
  const runAs: RunAs | undefined = runAsForLocalCluster(currentIdentity(ctx.env));
  return {
    workingDir: nodeRunDir(run.tool, run.runId),
    outputDir: dir,
    outputOn: 'host',
    shown,
    sharedAcrossNodes: true, // k3d mounts ./data into every node
    async stage() {
      try {
        await stageOnHost(run.input, dir, run.sweep);
      } catch (err) {
        // A partly staged run directory goes (it is new, nothing else is in it).
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        throw describeFsError(err, `stage the input in ${shown}`, relative(ctx.cwd, toolDir) || toolDir);
      }
      if (runAs?.chownRunDir) {
        await chownTree(dir, runAs.uid, runAs.gid).catch(async (err: unknown) => {
          await rm(dir, { recursive: true, force: true });
          throw new KeystoneError(`cannot hand the run directory to uid ${runAs.uid}: ${(err as Error).message}`, { hint: 'nothing was submitted; the staged input was removed' });
        });
      }
      return runAs?.note;
    },
    jobOptions: () => ({ runAs }),
    async afterCreate() {},
    async discard() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function configMapStorage(ctx: StorageContext, run: RunPlace): RunStorage {
  const dir = nodeRunDir(run.tool, run.runId);
  const configMapName = `${run.name}-input`;
  let staged: ConfigMapStaging | undefined;
  return {
    workingDir: dir,
    outputDir: dir,
    outputOn: 'node',
    shown: `${dir} on the node that runs it (context ${ctx.target.context})`,
    async stage() {
      staged = await stageInConfigMap(run.input, configMapName, run.namespace, { [labels.tool]: run.tool, [labels.runId]: run.runId }, run.sweep);
      return undefined;
    },
    jobOptions: () => ({ configMap: staged ? { name: configMapName, items: staged.items } : undefined }),
    async afterCreate(client, created) {
      if (!staged) return;
      // Owned by the Job: deleting the run deletes its input.
      const owned = { ...staged.configMap, metadata: { ...staged.configMap.metadata, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: run.name, uid: created.metadata?.uid ?? '', controller: false }] } };
      await client.request({ method: 'POST', path: `/api/v1/namespaces/${run.namespace}/configmaps`, body: owned, retry: false });
    },
    async discard() {},
  };
}
