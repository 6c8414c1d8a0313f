/**
 * What the user asked a run to be, checked before the cluster is touched: the profile, the input,
 * and every option of `run-simulation` parsed into values (each parser gives a one-line reason
 * and exit 2 when a value is wrong).
 */
import { UsageError } from '../../errors.js';
import { parseTimeout } from '../../duration.js';
import { loadProfiles, type Profile } from './profiles.js';
import { parseNodes } from './nodes.js';
import { podCpus, ranksFromFlags } from './ranks.js';
import { resolveInput, type ResolvedInput } from './input.js';
import {
  parseCpus,
  parseEnv,
  parseImage,
  parseMemory,
  parseParallel,
  parseRetries,
  parseSweeps,
  parseVolumeSize,
  parseProgressMode,
  type ProgressMode,
  type Sweep,
} from './options.js';
import type { PinnedImage } from '../../images/pin.js';

/** The options of `run-simulation`, as commander hands them over (all text). */
export interface RunFlags {
  detach?: boolean;
  cancelOnInterrupt?: boolean;
  retries?: string;
  cpus?: string;
  memory?: string;
  env?: string[];
  image?: string;
  timeout?: string;
  sweep?: string[];
  parallel?: string;
  progress?: string;
  ranks?: string;
  ntasks?: string;
  nodes?: string;
  volumeSize?: string;
}

export interface RunRequest {
  tool: string;
  profile: Profile;
  input: ResolvedInput;
  extraArgs: string[];
  retries: number;
  ranks: number;
  nodes: number;
  /** --cpus as given: per rank when --ranks is more than 1 (sbatch's --cpus-per-task). */
  cpusPerRank?: string;
  /** The pod's CPU request and limit; undefined keeps the template's. */
  cpus?: string;
  memory?: string;
  env: [string, string][];
  image?: string;
  deadlineSeconds?: number;
  sweep?: Sweep;
  parallel?: number;
  progressMode: ProgressMode;
  detach: boolean;
  cancelOnInterrupt: boolean;
  /** The size of a run volume keystone creates on another cluster (undefined: the default). */
  volumeSize?: string;
  /** `jobs rerun`: the original run's image, already pinned (images/pin.ts), and its id. */
  pinnedImage?: PinnedImage;
  rerunOf?: string;
}

export async function parseRunRequest(
  tool: string,
  inputText: string,
  extraArgs: string[],
  flags: RunFlags,
  where: { profilesFile: string; dataDir: string; cwd: string },
): Promise<RunRequest> {
  const profiles = await loadProfiles(where.profilesFile, where.cwd);
  const profile = profiles[tool];
  if (!profile)
    throw new UsageError(`unknown simulation tool "${tool}"`, `known tools: ${Object.keys(profiles).join(', ')}`);
  const retries = flags.retries !== undefined ? parseRetries(flags.retries) : 0;
  const ranks = ranksFromFlags(flags.ranks, flags.ntasks);
  const nodes = flags.nodes !== undefined ? parseNodes(flags.nodes) : 1;
  if (ranks > 1 && !profile.parallel)
    throw new UsageError(
      `the ${tool} profile says nothing about running under MPI, so --ranks must be 1`,
      `add a "parallel" entry to its profile in k8s/simulations/profiles.yaml`,
    );
  const cpusPerRank = flags.cpus !== undefined ? parseCpus(flags.cpus) : undefined;
  const sweep = parseSweeps(flags.sweep ?? []);
  const parallel = flags.parallel !== undefined ? parseParallel(flags.parallel) : undefined;
  if (parallel !== undefined && !sweep)
    throw new UsageError('--parallel only applies to a --sweep', 'add --sweep NAME=v1,v2 or drop --parallel');
  if (flags.detach && flags.cancelOnInterrupt)
    throw new UsageError(
      '--cancel-on-interrupt does nothing with --detach (keystone returns at once)',
      'drop one of them; cancel a detached run with `keystone jobs cancel <run-id>`',
    );
  const memory = flags.memory !== undefined ? parseMemory(flags.memory) : undefined;
  const env = parseEnv(flags.env ?? []);
  const image = flags.image !== undefined ? parseImage(flags.image) : undefined;
  const deadlineSeconds = flags.timeout !== undefined ? Math.ceil(parseTimeout(flags.timeout) / 1000) : undefined;
  const progressMode = parseProgressMode(flags.progress);
  const volumeSize = flags.volumeSize !== undefined ? parseVolumeSize(flags.volumeSize) : undefined;
  // Last: it reads the disk, and a mistyped option is the likelier mistake.
  const input = await resolveInput(inputText, { tool, kind: profile.input, dataDir: where.dataDir, cwd: where.cwd });
  return {
    tool,
    profile,
    input,
    extraArgs,
    retries,
    ranks,
    nodes,
    cpusPerRank,
    cpus: podCpus(ranks, cpusPerRank),
    memory,
    env,
    image,
    deadlineSeconds,
    sweep,
    parallel,
    progressMode,
    detach: Boolean(flags.detach),
    cancelOnInterrupt: Boolean(flags.cancelOnInterrupt),
    volumeSize,
  };
}
