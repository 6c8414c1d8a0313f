/** Simulation profiles: data (k8s/simulations/profiles.yaml), validated at the edge with zod. */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { z } from 'zod';
import { KeystoneError } from '../../errors.js';
import { parseYamlDocument, positionOfPath } from '../../cluster/yaml-positions.js';
import { progressSchema } from './progress.js';
import { seriesReaders } from '../../plot/series.js';
import { dns1123Label } from '../../vocabulary.js';
import { mpiImplementations } from '../../kube/objects.js';

const toolName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,20}$/, 'tool names are lower-case letters, digits and "-" (at most 21)');

/** An argv with placeholders; `extra` names the ones allowed besides {input} and {args}. */
const commandSchema = (extra: readonly string[] = []) => {
  const known = ['input', 'args', ...extra];
  return z
    .array(z.string().min(1))
    .min(1, 'needs at least the program to run')
    .superRefine((argv, ctx) => {
      if (!argv.some((a) => a.includes('{input}'))) {
        ctx.addIssue({ code: 'custom', message: 'must use "{input}" somewhere' });
      }
      for (const [i, arg] of argv.entries()) {
        if (arg !== '{args}' && arg.includes('{args}'))
          ctx.addIssue({ code: 'custom', path: [i], message: '"{args}" must be a whole argument on its own' });
        const unknown = [...arg.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]!).find((name) => !known.includes(name));
        if (unknown !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `unknown placeholder {${unknown}}; use ${known.map((k) => `{${k}}`).join(', ')}`,
          });
        else if (arg !== '{input}' && arg.includes('{input}') && !/^[^{}]*\{input\}[^{}]*$/.test(arg)) {
          ctx.addIssue({ code: 'custom', path: [i], message: 'unknown placeholder' });
        }
      }
    });
};

const envSchema = z.record(z.string(), z.string()).superRefine((env, ctx) => {
  for (const name of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      ctx.addIssue({ code: 'custom', path: [name], message: 'must be a variable name' });
  }
});

/**
 * Intel MPI is refused, with the reason: the operator's Intel images (kubeflow/mpi-operator v0.8.0
 * build/base/intel.Dockerfile, ENTRYPOINT /entrypoint.sh) set Intel MPI up in their entrypoint
 * (entrypoint.sh sources /opt/intel/oneapi/setvars.sh), and its Intel example passes mpirun as the
 * launcher's args (examples/v2beta1/pi/pi-intel.yaml), so that entrypoint runs. keystone's
 * launcher replaces the container's command with keystone-mpi (mpijob-builder.ts), so that
 * entrypoint would never run, and keystone has no Intel MPI image to test another way against.
 */
const intelRefusal =
  "Intel is not supported by keystone: the MPI Operator's Intel images set up Intel MPI in their entrypoint (it sources /opt/intel/oneapi/setvars.sh), and keystone replaces the container command with keystone-mpi, so that entrypoint would never run; use OpenMPI or MPICH";

/**
 * How the code runs with N MPI ranks (--ranks N): the argv that replaces `command`, with
 * "{ranks}" for N, the environment the MPI library needs in a container, and which MPI it is.
 */
const parallelSchema = z.strictObject({
  command: commandSchema(['ranks']).refine(
    (argv) => argv.some((a) => a.includes('{ranks}')),
    'must use "{ranks}" somewhere',
  ),
  env: envSchema.optional(),
  /** The image's MPI, for a run across nodes (--nodes): the MPIJob's mpiImplementation (default OpenMPI). */
  mpiImplementation: z
    .enum(mpiImplementations)
    .refine((m) => m !== 'Intel', intelRefusal)
    .optional(),
});

export const profileSchema = z.strictObject({
  template: z.string().regex(dns1123Label, 'must be the name of a Job'),
  input: z.enum(['file', 'directory']),
  command: commandSchema(),
  parallel: parallelSchema.optional(),
  examples: z.array(z.string()).optional(),
  /** How to read the run's progress from its output (runs/follow/progress.ts). */
  progress: progressSchema.optional(),
  /** What `keystone jobs plot` draws from the run's log (src/plot/series.ts). */
  plot: z
    .strictObject({
      series: z.enum(seriesReaders),
      /** The log file the code writes in its run directory, read when the pods are gone. */
      logFile: z
        .string()
        .regex(/^[^/]+$/, 'a file name in the run directory')
        .optional(),
    })
    .optional(),
});

export const profilesFileSchema = z.strictObject({
  apiVersion: z.literal('keystone.io/v1', { error: 'must be "keystone.io/v1"' }),
  kind: z.literal('SimulationProfiles', { error: 'must be "SimulationProfiles"' }),
  profiles: z.record(toolName, profileSchema).refine((p) => Object.keys(p).length > 0, 'define at least one profile'),
});

export type Profile = z.infer<typeof profileSchema>;
export type Profiles = Record<string, Profile>;

export function parseProfiles(text: string, path: string): Profiles {
  const { doc, lineCounter } = parseYamlDocument(text, path);
  const result = profilesFileSchema.safeParse(doc.toJS());
  if (result.success) return result.data.profiles;
  const issue = result.error.issues[0]!;
  const where = positionOfPath(doc, lineCounter, issue.path as (string | number)[]);
  const field = issue.path.length ? issue.path.join('.') : '(top level)';
  const message =
    issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  throw new KeystoneError(`${path}${where}: ${field}: ${message}`, {
    hint: 'see the comment at the top of the profiles file',
    exitCode: 2,
  });
}

export async function loadProfiles(path: string, cwd: string): Promise<Profiles> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new KeystoneError(`cannot read the simulation profiles ${path}`, {
      hint: 'run keystone from the project directory, or set KEYSTONE_PROJECT_DIR',
    });
  }
  return parseProfiles(text, relative(cwd, path) || path);
}

/** The simulation tools the project defines: its profiles' names (a fourth code needs no code). */
export async function toolNames(path: string, cwd: string): Promise<string[]> {
  return Object.keys(await loadProfiles(path, cwd));
}

/** The container argv for a run: placeholders replaced, each extra argument its own element. */
export function expandCommand(
  command: readonly string[],
  input: string,
  extraArgs: readonly string[],
  ranks?: number,
): string[] {
  return command.flatMap((arg) =>
    arg === '{args}'
      ? [...extraArgs]
      : [
          arg
            .split('{input}')
            .join(input)
            .split('{ranks}')
            .join(String(ranks ?? 1)),
        ],
  );
}

/** The argv and extra environment of a run with `ranks` MPI ranks (1: the serial command as it is). */
export function runCommand(
  profile: Profile,
  input: string,
  extraArgs: readonly string[],
  ranks = 1,
): { command: string[]; env: [string, string][] } {
  if (ranks === 1 || !profile.parallel) return { command: expandCommand(profile.command, input, extraArgs), env: [] };
  return {
    command: expandCommand(profile.parallel.command, input, extraArgs, ranks),
    env: Object.entries(profile.parallel.env ?? {}),
  };
}
