/**
 * Runs a profile's real command line the way keystone's Job runs it, with the engine installed on
 * this machine instead of in the image: the argv, working directory and environment come from the
 * same code run-simulation uses (resolveInput, stageOnHost, buildJobFromTemplate), the image's ENV
 * comes from its Dockerfile, and the process runs as the uid/gid the pod would (a non-root uid
 * other than 1000; as root, 1001 as if `sudo` had been run by uid 1001).
 */
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse } from 'yaml';
import { loadProfiles, runCommand, type Profile } from '../../src/runs/request/profiles.js';
import { resolveInput } from '../../src/runs/request/input.js';
import { stageOnHost } from '../../src/runs/storage/staging.js';
import { GuardedDir } from '../../src/guarded-fs.js';
import { parseSweeps } from '../../src/runs/request/options.js';
import { buildJobFromTemplate } from '../../src/runs/build/job.js';
import { chownTree, runAsForLocalCluster } from '../../src/runs/build/run-as.js';
import { loadManifests } from '../../src/stack/manifests.js';
import type { JobObject } from '../../src/kube/objects.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The PATH a container gets when its image sets none (Docker's and containerd's default). */
const defaultContainerPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the images keep HOME (images/*\/Dockerfile); here it is a temporary directory. */
const imageHome = '/home/sim';

export interface RunIdentity {
  uid: number;
  gid: number;
  /** argv prefix that switches to uid/gid (empty when already running as it). */
  wrap: string[];
}

/** uid 1001 via setpriv when root (as sudo from uid 1001 would: run-as.ts decides), else the user's own uid. */
export function engineIdentity(): RunIdentity {
  const uid = process.getuid!();
  if (uid === 0) {
    const runAs = runAsForLocalCluster({ uid: 0, gid: 0, env: { SUDO_UID: '1001', SUDO_GID: '1001' } })!;
    return {
      uid: runAs.uid,
      gid: runAs.gid,
      wrap: ['setpriv', `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', '--'],
    };
  }
  if (uid === 1000)
    throw new Error(
      'run npm run test:engines as root (it switches to uid 1001) or as a user whose uid is not 1000: the point is a uid the images do not assume',
    );
  return { uid, gid: process.getgid!(), wrap: [] };
}

export interface Project {
  profiles: Record<string, Profile>;
  templates: Map<string, JobObject>;
  /** tool -> the folder of its image's Dockerfile (images/compose.yaml). */
  imageDirs: Map<string, string>;
}

export async function loadProject(): Promise<Project> {
  const profiles = await loadProfiles(join(repoRoot, 'k8s', 'simulations', 'profiles.yaml'), repoRoot);
  const manifests = await loadManifests(join(repoRoot, 'k8s', 'manifests'), repoRoot);
  const templates = new Map<string, JobObject>();
  for (const m of manifests)
    if (m.object.kind === 'Job') templates.set(m.object.metadata.name, m.object as unknown as JobObject);
  const compose = parse(await readFile(join(repoRoot, 'images', 'compose.yaml'), 'utf8')) as {
    services: Record<string, { image: string; build?: { context: string; dockerfile?: string } }>;
  };
  const imageDirs = new Map<string, string>();
  for (const [tool, profile] of Object.entries(profiles)) {
    const image = templates.get(profile.template)?.spec.template.spec.containers[0]?.image;
    const service = Object.values(compose.services).find((s) => s.image === image);
    // The folder of its Dockerfile (compose: relative to the context).
    if (service?.build)
      imageDirs.set(
        tool,
        dirname(join(repoRoot, 'images', service.build.context, service.build.dockerfile ?? 'Dockerfile')),
      );
  }
  return { profiles, templates, imageDirs };
}

/** The ENV the image's Dockerfile sets (ENV K=V ... lines), with /home/sim mapped to `home`. */
export async function imageEnv(dockerfileDir: string | undefined, home: string): Promise<Record<string, string>> {
  const env: Record<string, string> = { PATH: defaultContainerPath };
  if (!dockerfileDir) return env;
  const text = await readFile(join(dockerfileDir, 'Dockerfile'), 'utf8');
  for (const line of text.split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0)
        env[pair.slice(0, eq)] = pair
          .slice(eq + 1)
          .split(imageHome)
          .join(home);
    }
  }
  return env;
}

export interface EngineRun {
  exitCode: number;
  output: string;
  /** The run directory (per index for a sweep). */
  dirs: string[];
  argv: string[];
}

export interface RunRequest {
  tool: string;
  example: string;
  extraArgs?: string[];
  sweep?: string[];
  /** Set on top of the image's ENV (only for what this machine lacks, e.g. the DOLFINx 0.9 API shim). */
  extraEnv?: Record<string, string>;
  /** MPI ranks (--ranks): the profile's parallel command under the real mpirun. */
  ranks?: number;
  /** Changes the staged input before the run (a deliberately broken input). */
  breakInput?: (stagedInput: string) => Promise<void>;
  /** Where the pod runs: this machine's engine (default) or a real container (test/containers). */
  executor?: JobExecutor;
}

/** One pod of the Job (one index of a sweep), wherever it runs. */
export interface JobPod {
  project: Project;
  who: RunIdentity;
  tool: string;
  /** The Job keystone would submit (from buildJobFromTemplate). */
  job: JobObject;
  /** JOB_COMPLETION_INDEX for an Indexed Job's pod; undefined for a single pod. */
  index: number | undefined;
  /** The host directory that is the nodes' /data (the hostPath volumes' root). */
  dataDir: string;
  /** A writable directory standing for the image's HOME (on this machine only). */
  home: string;
  extraEnv?: Record<string, string>;
  timeoutMs: number;
}

/** Runs one pod's container and returns its exit code and output (stdout and stderr together). */
export type JobExecutor = (pod: JobPod) => Promise<{ exitCode: number; output: string }>;

/** The container's command with this machine's engine: image ENV from its Dockerfile, the pod's env, as the pod's uid. */
export const onThisMachine: JobExecutor = async ({
  project,
  who,
  tool,
  job,
  index,
  dataDir,
  home,
  extraEnv,
  timeoutMs,
}) => {
  const container = job.spec.template.spec.containers[0]!;
  const hostPath = (p: string) => p.replace(`/data/${tool}`, join(dataDir, tool));
  const env = await imageEnv(project.imageDirs.get(tool), home);
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  Object.assign(env, extraEnv);
  // An Indexed Job's pods get JOB_COMPLETION_INDEX from the Job controller.
  if (index !== undefined) env.JOB_COMPLETION_INDEX = String(index);
  const [file, ...args] = [...who.wrap, ...container.command!];
  const r = await execa(file!, args, {
    cwd: hostPath(container.workingDir!),
    env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: timeoutMs,
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
};

/**
 * Stages a copy of the example in a temporary project and runs the Job's command for each index,
 * as the identity's uid, with nothing of this process's environment.
 */
export async function runLikeTheJob(
  project: Project,
  who: RunIdentity,
  req: RunRequest,
  timeoutMs = 240_000,
): Promise<EngineRun & { cleanup: () => Promise<void> }> {
  const profile = project.profiles[req.tool];
  if (!profile) throw new Error(`no profile ${req.tool}`);
  const template = project.templates.get(profile.template);
  if (!template) throw new Error(`no template Job ${profile.template} in k8s/manifests`);
  const tmp = await mkdtemp(join(tmpdir(), `keystone-engine-${req.tool}-`));
  await chmod(tmp, 0o755);
  const dataDir = join(tmp, 'data');
  await mkdir(join(dataDir, req.tool), { recursive: true });
  await cp(join(repoRoot, 'data', req.tool, req.example), join(dataDir, req.tool, req.example), { recursive: true });
  const home = join(tmp, 'home');
  await mkdir(home);
  await chmod(home, 0o1777);

  const sweep = parseSweeps(req.sweep ?? []);
  const input = await resolveInput(req.example, { tool: req.tool, kind: profile.input, dataDir, cwd: tmp });
  const runId = 'engine-test';
  const nodeRunDir = `/data/${req.tool}/runs/${runId}`;
  const hostRunDir = join(dataDir, req.tool, 'runs', runId);
  await stageOnHost(new GuardedDir(dataDir), input, hostRunDir, sweep);
  if (req.breakInput)
    for (const dir of sweep ? sweep.combinations.map((_, i) => join(hostRunDir, String(i))) : [hostRunDir])
      await req.breakInput(join(dir, input.name));
  if (who.wrap.length) await chownTree(hostRunDir, who.uid, who.gid);

  const { command, env: mpiEnv } = runCommand(profile, input.name, req.extraArgs ?? [], req.ranks);
  const job = buildJobFromTemplate(template, {
    tool: req.tool,
    runId,
    name: `${req.tool}-${runId}`,
    command,
    workingDir: nodeRunDir,
    inputName: input.name,
    outputDir: hostRunDir,
    retries: 0,
    env: mpiEnv,
    sweep,
    runAs: { uid: who.uid, gid: who.gid },
  });
  const pod = job.spec.template.spec;
  const container = pod.containers[0]!;
  const security = pod.securityContext as { runAsUser?: number } | undefined;
  if (security?.runAsUser !== who.uid)
    throw new Error(`the Job would run as uid ${security?.runAsUser}, not ${who.uid}`);
  const execute = req.executor ?? onThisMachine;
  const indexes = sweep ? sweep.combinations.map((_, i) => i) : [undefined];
  let output = '';
  let exitCode = 0;
  for (const index of indexes) {
    const r = await execute({
      project,
      who,
      tool: req.tool,
      job,
      index,
      dataDir,
      home,
      extraEnv: req.extraEnv,
      timeoutMs,
    });
    output += `${index === undefined ? '' : `--- index ${index}\n`}${r.output}\n`;
    if (r.exitCode !== 0 && exitCode === 0) exitCode = r.exitCode;
  }
  const argv = container.command!;
  const dirs = indexes.map((i) => (i === undefined ? hostRunDir : join(hostRunDir, String(i))));
  return { exitCode, output, dirs, argv, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}

/** Is `program` on the image's PATH here? */
export function onPath(program: string): boolean {
  return defaultContainerPath.split(':').some((dir) => existsSync(join(dir, program)));
}

export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? ''
  );
}

/** LAMMPS thermo columns (Step Temp E_pair E_mol TotEng Press) at `step`, as numbers. */
export function thermoAt(output: string, step: number): number[] | undefined {
  const line = output.split('\n').find((l) => new RegExp(`^\\s+${step}\\s+[-\\d.]+\\s+[-\\d.]+`).test(l));
  return line?.trim().split(/\s+/).map(Number);
}

/** An OpenFOAM field file's internalField values (nonuniform List<scalar> or List<vector>, flattened). */
export async function fieldValues(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8');
  const m = /internalField\s+nonuniform\s+List<\w+>\s*(\d+)\s*\(([\s\S]*?)\n\)\s*;/.exec(text);
  if (!m) throw new Error(`${path}: no nonuniform internalField`);
  const values = m[2]!.replace(/[()]/g, ' ').trim().split(/\s+/).map(Number);
  return [Number(m[1]), ...values];
}
