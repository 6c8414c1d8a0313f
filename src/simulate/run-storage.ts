/**
 * Where a run's input and outputs live, one strategy per kind of cluster:
 *   - the local k3d cluster: ./data is mounted at /data on every node, so the input is staged in
 *     data/<tool>/runs/<run-id>/ on this machine and the outputs appear beside it as they are written;
 *   - another cluster (--context): the run directory is on a PersistentVolumeClaim, the input is
 *     uploaded into it through a helper pod, and the Job mounts the claim (volume-storage.ts).
 * submit-run.ts asks the storage to stage, to shape the Job, to finish after the Job exists, and
 * to undo its staging when the submission fails: nothing half-done stays behind.
 */
import { join, relative } from 'node:path';
import { InterruptedError, KeystoneError } from '../errors.js';
import { GuardedDir, OutsideRootError } from '../guarded-fs.js';
import { describeFsError } from '../fs-errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeTarget } from '../kube/target.js';
import { hostRunDir, nodeRunDir } from '../kube/vocabulary.js';
import type { BuildOptions, JobObject } from './job-builder.js';
import type { ResolvedInput } from './input.js';
import type { Sweep } from './run-options.js';
import { chownTree, currentIdentity, runAsForLocalCluster, type RunAs } from './run-as.js';
import { stageOnHost } from './staging.js';
import { volumeStorage } from './volume-storage.js';

export interface RunPlace {
  tool: string;
  runId: string;
  /** The run's Job name (a per-run volume is named after it). */
  name: string;
  namespace: string;
  input: ResolvedInput;
  sweep?: Sweep;
  /** The tool's template Job as it is in the cluster (image and uid for helper pods). */
  template: JobObject;
  /** The run's Job as built before its volume is known (image after --image, requests, scheduling): helper pods follow it. */
  runJob?: () => JobObject;
  /** --volume-size: the size of a run volume keystone creates on another cluster. */
  volumeSize?: string;
  /** A run across nodes (--nodes K > 1): its directory must be one every node mounts; a storage that cannot give one refuses it (unsharedRunDirectory) while staging. */
  acrossNodes?: { nodes: number; ranks: number };
}

export interface RunStorage {
  /** The run directory as the pod sees it (its working directory). */
  workingDir: string;
  /** The run directory as `jobs -o json` reports it (outputDir): on this machine, or as the pod sees it. */
  outputDir: string;
  /** keystone.io/output-on: "host" (this machine) or "volume" (a claim on another cluster). */
  outputOn: 'host' | 'volume';
  /** The run directory as messages show it. */
  shown: string;
  /** Puts the input where the pod will find it; a note for the user when there is one. */
  stage(): Promise<string | undefined>;
  /** What the Job needs from this storage (uid, the claim to mount). */
  jobOptions(): Pick<BuildOptions, 'runAs' | 'volume'>;
  /** Annotations for the run's Job (which claim holds it). */
  annotations?(): Record<string, string>;
  /** After the Job exists: objects that belong to it. */
  afterCreate(client: KubeClient, created: JobObject): Promise<void>;
  /** The submission failed: removes what stage() made. */
  discard(): Promise<void>;
}

export interface StorageContext {
  client: KubeClient;
  target: KubeTarget;
  /** Ctrl-C: stops an upload (its helper pod is deleted). */
  signal?: AbortSignal;
  info(text: string): void;
  dataDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function storageFor(ctx: StorageContext, run: RunPlace): RunStorage {
  return ctx.target.local ? hostStorage(ctx, run) : volumeStorage(ctx, run);
}

function hostStorage(ctx: StorageContext, run: RunPlace): RunStorage {
  const dir = hostRunDir(ctx.dataDir, run.tool, run.runId);
  const shown = relative(ctx.cwd, dir) || dir;
  const toolDir = join(ctx.dataDir, run.tool);
  // The pod writes ./data through a hostPath: it runs as the directory's owner (run-as.ts).
  const runAs: RunAs | undefined = runAsForLocalCluster(currentIdentity(ctx.env));
  const data = new GuardedDir(ctx.dataDir, { signal: ctx.signal, shown: (p) => relative(ctx.cwd, p) || p });
  return {
    workingDir: nodeRunDir(run.tool, run.runId),
    outputDir: dir,
    outputOn: 'host',
    shown,
    async stage() {
      try {
        await stageOnHost(data, run.input, dir, run.sweep);
      } catch (err) {
        // A partly staged run directory goes (it is new, nothing else is in it) -- unless it is
        // outside data/, which keystone never touches.
        if (!(err instanceof OutsideRootError)) await data.remove(dir, { cleanup: true }).catch(() => undefined);
        if (err instanceof InterruptedError) throw new InterruptedError(`interrupted while staging the input: nothing was submitted, and the half-made ${shown} was removed`);
        throw describeFsError(err, `stage the input in ${shown}`, relative(ctx.cwd, toolDir) || toolDir);
      }
      if (runAs?.chownRunDir) {
        await chownTree(dir, runAs.uid, runAs.gid).catch(async (err: unknown) => {
          await data.remove(dir, { cleanup: true });
          throw new KeystoneError(`cannot hand the run directory to uid ${runAs.uid}: ${(err as Error).message}`, { hint: 'nothing was submitted; the staged input was removed' });
        });
      }
      return runAs?.note;
    },
    jobOptions: () => ({ runAs, volume: undefined }),
    async afterCreate() {},
    async discard() {
      await data.remove(dir, { cleanup: true });
    },
  };
}
