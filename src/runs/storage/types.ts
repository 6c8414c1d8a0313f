/**
 * What a run's storage is asked for (RunStorage) and what it is given (RunPlace, StorageContext):
 * the host directory (host.ts) and the run volume (volume.ts) both implement it; index.ts picks one.
 */
import type { GuardedDir } from '../../guarded-fs.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeTarget } from '../../kube/target.js';
import type { JobObject } from '../../kube/objects.js';
import type { BuildOptions } from '../build/job.js';
import type { ResolvedInput } from '../request/input.js';
import type { Sweep } from '../request/options.js';

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
  /** data/, guarded (src/guarded-fs.ts): every write and delete under it goes through this. */
  data: GuardedDir;
  cwd: string;
  env: NodeJS.ProcessEnv;
}
