/**
 * Submitting a run: read the tool's template from the cluster, check the run fits (nodes, ranks),
 * stage its input (storage/), build its Job from the template and create it. Nothing is
 * created twice and nothing half-done stays: a failed submission removes what was staged.
 */
import { KeystoneError } from '../errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { installStackCommand, type KubeTarget } from '../kube/target.js';
import { annotations, stackNamespace } from '../vocabulary.js';
import { runCommand } from './request/profiles.js';
import { checkNodes } from './request/nodes.js';
import { buildMpiJob, mpiJobAsJob } from './build/mpijob.js';
import { checkRanksFit, cpuMillicores, defaultRankMillicores, nodeCpus } from './request/ranks.js';
import { runCollectionPath, type RunKind } from './model.js';
import { jobName, newRunId } from './model.js';
import { buildJobFromTemplate, type BuildOptions } from './build/job.js';
import { storageFor, type RunStorage, type StorageContext } from './storage/index.js';
import type { RunRequest } from './request/request.js';
import type { MpiJobObject, JobObject } from '../kube/objects.js';
import type { Runner } from '../exec/runner.js';
import { relative, join, isAbsolute } from 'node:path';
import { pinImage, type PinSources, type PinnedImage } from '../images/pin.js';
import { simulationContainer } from './build/job.js';
import { inputDigest } from './record/input-digest.js';
import { canonicalJson, recordFileName, redactArgv, sealRecord, sha256Of, type RunRecord } from './record/record.js';
import { writeRecordFile } from './record/store.js';
import type { Clock } from '../clock.js';

export interface SubmittedRun {
  runId: string;
  name: string;
  namespace: string;
  /** A Job; across nodes an MPIJob, seen as a Job (mpiJobAsJob). */
  created: JobObject;
  kind: RunKind;
  storage: RunStorage;
  record: RunRecord;
  /** run-record.json on this machine (local runs), when it could be written. */
  recordFile?: string;
}

export interface SubmitContext extends StorageContext {
  client: KubeClient;
  target: KubeTarget;
  /** Notes for the user on stderr (a uid chosen for them, a check that could not be made). */
  info(text: string): void;
  warn(text: string): void;
  /** Docker, for the image's ID and registry digests (images/pin.ts). */
  runner: Runner;
  /** For the run's record. */
  keystoneVersion: string;
  argv: readonly string[];
  /** The cluster's record of pushed images (images/pin.ts). */
  remembered?: PinSources['remembered'];
  /** The run id's time comes from here (tests give a clock of their own). */
  clock: Pick<Clock, 'now'>;
}

export async function submitRun(ctx: SubmitContext, req: RunRequest): Promise<SubmittedRun> {
  const { client } = ctx;
  const namespace = stackNamespace;
  const template = await getTemplate(client, namespace, req.profile.template, req.tool);
  await checkNodes(client, req.nodes, { ranks: req.ranks, sweep: Boolean(req.sweep), context: ctx.target.context });
  if (req.ranks > 1) await checkRanks(ctx, req);

  // The image is pinned before anything is staged: an image that cannot be pinned changes nothing.
  const requested = req.image ?? simulationContainer(template.spec.template.spec.containers)?.image ?? '';
  const pinned: PinnedImage =
    req.pinnedImage ??
    (await pinImage(requested, {
      client,
      runner: ctx.runner,
      context: ctx.target.context,
      remembered: ctx.remembered,
    }));
  if (pinned.pinnedBy === 'image-id')
    ctx.info(
      `image ${requested} has no registry digest (it was loaded into the nodes): the run is pinned by image ID${pinned.id ? ` ${pinned.id.slice(0, 19)}…` : ''}; \`keystone push-images\` pins runs by digest`,
    );
  const inputSha256 = await inputDigest(req.input);

  const runId = newRunId(new Date(ctx.clock.now()));
  const name = jobName(req.tool, runId);
  const kind: RunKind = req.nodes > 1 ? 'MPIJob' : 'Job';
  // A program reads "-x.py" as an option; "./-x.py" is the same file and cannot be one.
  const { command, env: mpiEnv } = runCommand(
    req.profile,
    req.input.name.startsWith('-') ? `./${req.input.name}` : req.input.name,
    req.extraArgs,
    req.ranks,
  );
  // A function: the run directory is the storage's, which is made below.
  const buildOptions = (): BuildOptions => ({
    tool: req.tool,
    runId,
    name,
    command,
    workingDir: storage.workingDir,
    inputName: req.input.name,
    outputDir: storage.outputDir,
    retries: req.retries,
    env: [...mpiEnv, ...req.env],
    image: pinned.ref,
    // Across nodes the ranks' CPU goes to the workers (below); the launcher keeps the template's.
    cpus: kind === 'MPIJob' ? undefined : req.cpus,
    memory: req.memory,
    deadlineSeconds: req.deadlineSeconds,
    sweep: req.sweep,
    parallel: req.parallel,
  });
  const storage = storageFor(ctx, {
    tool: req.tool,
    runId,
    name,
    namespace,
    input: req.input,
    sweep: req.sweep,
    template,
    // The run's pod before its volume is known: helper pods take its image (--image) and scheduling.
    runJob: () => buildJobFromTemplate(template, buildOptions()),
    volumeSize: req.volumeSize,
    acrossNodes: req.nodes > 1 ? { nodes: req.nodes, ranks: req.ranks } : undefined,
  });

  const note = await storage.stage();
  if (note) ctx.info(note);
  const job = buildJobFromTemplate(template, { ...buildOptions(), ...storage.jobOptions() });
  const record = sealRecord({
    apiVersion: 'keystone.io/v1',
    kind: 'RunRecord',
    runId,
    tool: req.tool,
    runKind: kind,
    job: name,
    keystoneVersion: ctx.keystoneVersion,
    argv: redactArgv(ctx.argv),
    env: req.env.map(([key]) => key),
    profile: req.profile as Record<string, unknown>,
    template: { name: req.profile.template, sha256: sha256Of(canonicalJson(template.spec.template)) },
    image: pinned,
    input: {
      name: req.input.name,
      kind: req.input.kind,
      path: inputPath(ctx.dataDir, req.input.path),
      sha256: inputSha256,
      bytes: req.input.bytes,
      files: req.input.files.length,
    },
    request: {
      args: req.extraArgs,
      retries: req.retries,
      ranks: req.ranks,
      nodes: req.nodes,
      ...(req.cpusPerRank !== undefined ? { cpus: req.cpusPerRank } : {}),
      ...(req.memory !== undefined ? { memory: req.memory } : {}),
      ...(req.deadlineSeconds !== undefined ? { deadlineSeconds: req.deadlineSeconds } : {}),
      ...(req.sweep ? { sweep: req.sweep } : {}),
      ...(req.parallel !== undefined ? { parallel: req.parallel } : {}),
      ...(req.volumeSize !== undefined ? { volumeSize: req.volumeSize } : {}),
    },
    cluster: {
      name: ctx.target.local ? ctx.target.clusterName : ctx.target.context,
      context: ctx.target.context,
      local: ctx.target.local,
      server: client.server,
    },
    submittedAt: new Date().toISOString(),
    ...(req.rerunOf ? { rerunOf: req.rerunOf } : {}),
  });
  job.metadata = {
    ...job.metadata,
    annotations: {
      ...job.metadata?.annotations,
      [annotations.outputOn]: storage.outputOn,
      ...storage.annotations?.(),
      [annotations.runRecord]: JSON.stringify(record),
    },
  };

  const body =
    kind === 'MPIJob'
      ? buildMpiJob(job, {
          nodes: req.nodes,
          ranks: req.ranks,
          workerCpus: `${(req.ranks / req.nodes) * perRankMillicores(req)}m`,
          mpiImplementation: req.profile.parallel?.mpiImplementation ?? 'OpenMPI',
        })
      : job;

  let created: JobObject;
  try {
    // A create is never retried blindly: a retry after a lost answer could start the run twice.
    const answer = await client.request<JobObject | MpiJobObject>({
      method: 'POST',
      path: runCollectionPath(namespace, kind),
      body,
      retry: false,
    });
    created = kind === 'MPIJob' ? mpiJobAsJob(answer as MpiJobObject) : (answer as JobObject);
    await storage.afterCreate(client, created);
  } catch (err) {
    await storage.discard();
    throw err instanceof KeystoneError
      ? new KeystoneError(`could not submit the run: ${err.message}`, {
          hint: err.hint ?? 'nothing was started; the staged input was removed',
        })
      : err;
  }
  // Next to the outputs on this machine; the cluster's copy is the annotation above.
  let recordFile: string | undefined;
  if (storage.outputOn === 'host') {
    recordFile = join(storage.outputDir, recordFileName);
    await writeRecordFile(ctx.data, recordFile, record).catch((err: unknown) => {
      ctx.warn(
        `could not write the run record ${recordFile}: ${(err as Error).message}; the cluster keeps it (\`keystone jobs show ${runId}\`)`,
      );
      recordFile = undefined;
    });
  }
  return { runId, name, namespace, created, kind, storage, record, recordFile };
}

/** The input's path relative to data/ (absolute when it was elsewhere). */
function inputPath(dataDir: string, path: string): string {
  const rel = relative(dataDir, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const perRankMillicores = (req: RunRequest) =>
  req.cpusPerRank !== undefined ? cpuMillicores(req.cpusPerRank)! : defaultRankMillicores;

/** --ranks N (over --nodes K): refused before anything is staged when no node has N/K ranks' worth of CPU. */
async function checkRanks(ctx: SubmitContext, req: RunRequest): Promise<void> {
  const cpusByNode = await nodeCpus(ctx.client);
  const across = req.nodes > 1 ? ` --nodes ${req.nodes}` : '';
  if (cpusByNode) {
    checkRanksFit(cpusByNode, {
      ranksPerPod: req.ranks / req.nodes,
      perRankMillicores: perRankMillicores(req),
      flag: `--ranks ${req.ranks}${across}`,
      largest: (n) => `--ranks ${n * req.nodes}${across}`,
    });
  } else
    ctx.warn(
      "cannot read the nodes' allocatable CPU (no permission to list nodes): the scheduler will say if the run does not fit",
    );
}

async function getTemplate(client: KubeClient, ns: string, name: string, tool: string): Promise<JobObject> {
  try {
    return await client.request<JobObject>({ path: `/apis/batch/v1/namespaces/${ns}/jobs/${name}` });
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) {
      throw new KeystoneError(`the ${tool} template (Job ${name} in namespace ${ns}) is not in the cluster`, {
        hint: `run \`${installStackCommand(client.target)}\` to apply k8s/manifests`,
      });
    }
    throw err;
  }
}
