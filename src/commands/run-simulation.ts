/** `keystone run-simulation <tool> <input> [-- args]`: submit a run from the tool's template and follow it. */
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { AppContext } from '../app-context.js';
import { ExitCode, KeystoneError, UsageError, stdoutClosedReason } from '../errors.js';
import { maxTimerMs, parseTimeout } from '../duration.js';
import { describeFsError } from '../fs-errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { localImageNames } from '../images/images.js';
import { formatDuration } from '../ui/ui.js';
import { loadProfiles, runCommand } from '../simulate/profiles.js';
import { checkNodes, parseNodes } from '../simulate/mpijob.js';
import { checkRanksFit, cpuMillicores, defaultRankMillicores, nodeCpus, podCpus, ranksFromFlags } from '../simulate/ranks.js';
import { resolveInput } from '../simulate/input.js';
import { parseCpus, parseEnv, parseImage, parseMemory, parseParallel, parseRetries, parseSweeps } from '../simulate/run-options.js';
import { jobName, newRunId } from '../simulate/run-id.js';
import { stageInConfigMap, stageOnHost } from '../simulate/staging.js';
import { chownTree, currentIdentity, runAsForLocalCluster } from '../simulate/run-as.js';
import { buildJobFromTemplate, type JobObject } from '../simulate/job-builder.js';
import { deleteRun } from '../simulate/runs.js';
import { followRun, RunCannotStartError } from '../simulate/follow-run.js';
import { runPrinter } from '../simulate/run-output.js';
import { createProgressDisplay, parseProgressMode } from '../simulate/progress-display.js';
import { annotations, hostRunDir as hostRunDirOf, labels, nodeRunDir as nodeRunDirOf, stackNamespace } from '../kube/vocabulary.js';

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
}

export async function runSimulation(app: AppContext, tool: string, inputText: string, extraArgs: string[], flags: RunFlags): Promise<number> {
  // Everything the user typed is checked before the cluster is touched.
  const profiles = await loadProfiles(app.paths.profiles, app.cwd);
  const profile = profiles[tool];
  if (!profile) throw new UsageError(`unknown simulation tool "${tool}"`, `known tools: ${Object.keys(profiles).join(', ')}`);
  const retries = flags.retries !== undefined ? parseRetries(flags.retries) : 0;
  const ranks = ranksFromFlags(flags.ranks, flags.ntasks);
  const nodes = flags.nodes !== undefined ? parseNodes(flags.nodes) : 1;
  if (ranks > 1 && !profile.parallel) throw new UsageError(`the ${tool} profile says nothing about running under MPI, so --ranks must be 1`, `add a "parallel" entry to its profile in k8s/simulations/profiles.yaml`);
  // With --ranks, --cpus is per rank (sbatch's --cpus-per-task); see ranks.ts.
  const cpusPerRank = flags.cpus !== undefined ? parseCpus(flags.cpus) : undefined;
  const cpus = podCpus(ranks, cpusPerRank);
  const memory = flags.memory !== undefined ? parseMemory(flags.memory) : undefined;
  const env = parseEnv(flags.env ?? []);
  const image = flags.image !== undefined ? parseImage(flags.image) : undefined;
  const deadlineSeconds = flags.timeout !== undefined ? Math.ceil(parseTimeout(flags.timeout) / 1000) : undefined;
  const sweep = parseSweeps(flags.sweep ?? []);
  const parallel = flags.parallel !== undefined ? parseParallel(flags.parallel) : undefined;
  if (parallel !== undefined && !sweep) throw new UsageError('--parallel only applies to a --sweep', 'add --sweep NAME=v1,v2 or drop --parallel');
  if (flags.detach && flags.cancelOnInterrupt) throw new UsageError('--cancel-on-interrupt does nothing with --detach (keystone returns at once)', 'drop one of them; cancel a detached run with `keystone jobs cancel <run-id>`');
  const progressMode = parseProgressMode(flags.progress);
  const input = await resolveInput(inputText, { tool, kind: profile.input, dataDir: app.paths.dataDir, cwd: app.cwd });

  const clusterName = await app.clusterName();
  const target = app.target(clusterName);
  const client = await app.kube(target);
  const ns = stackNamespace;
  const template = await getTemplate(client, ns, profile.template, tool);
  await checkNodes(client, nodes, { ranks, context: target.context });
  if (ranks > 1) {
    const cpusByNode = await nodeCpus(client);
    const perRankMillicores = cpusPerRank !== undefined ? cpuMillicores(cpusPerRank)! : defaultRankMillicores;
    if (cpusByNode) checkRanksFit(cpusByNode, { ranksPerPod: ranks, perRankMillicores, flag: `--ranks ${ranks}`, largest: (n) => `--ranks ${n}` });
    else app.ui.warn('cannot read the nodes\' allocatable CPU (no permission to list nodes): the scheduler will say if the run does not fit');
  }

  const runId = newRunId();
  const name = jobName(tool, runId);
  const nodeRunDir = nodeRunDirOf(tool, runId);
  const hostRunDir = hostRunDirOf(app.paths.dataDir, tool, runId);
  // A path in both cases (scripts read it from `jobs -o json`); on another cluster it is the node's.
  const outputDir = target.local ? hostRunDir : nodeRunDir;
  const shownDir = target.local ? relative(app.cwd, hostRunDir) || hostRunDir : `${nodeRunDir} on the node that runs it (context ${target.context})`;
  // A program reads "-x.py" as an option; "./-x.py" is the same file and cannot be one.
  const { command, env: mpiEnv } = runCommand(profile, input.name.startsWith('-') ? `./${input.name}` : input.name, extraArgs, ranks);

  let configMap: Awaited<ReturnType<typeof stageInConfigMap>> | undefined;
  // On the local cluster the pod writes ./data through a hostPath: it runs as the directory's owner.
  const runAs = target.local ? runAsForLocalCluster(currentIdentity(app.env)) : undefined;
  if (target.local) {
    try {
      await stageOnHost(input, hostRunDir, sweep);
    } catch (err) {
      // Nothing half-done: a partly staged run directory goes (it is new, nothing else is in it).
      await rm(hostRunDir, { recursive: true, force: true }).catch(() => undefined);
      throw describeFsError(err, `stage the input in ${shownDir}`, relative(app.cwd, join(app.paths.dataDir, tool)) || join(app.paths.dataDir, tool));
    }
    if (runAs?.chownRunDir) {
      await chownTree(hostRunDir, runAs.uid, runAs.gid).catch(async (err: unknown) => {
        await rm(hostRunDir, { recursive: true, force: true });
        throw new KeystoneError(`cannot hand the run directory to uid ${runAs.uid}: ${(err as Error).message}`, { hint: 'nothing was submitted; the staged input was removed' });
      });
    }
    if (runAs?.note) app.ui.info(runAs.note);
  } else {
    configMap = await stageInConfigMap(input, `${name}-input`, ns, { [labels.tool]: tool, [labels.runId]: runId }, sweep);
  }
  const job = buildJobFromTemplate(template, {
    tool,
    runId,
    name,
    command,
    workingDir: nodeRunDir,
    inputName: input.name,
    outputDir,
    retries,
    env: [...mpiEnv, ...env],
    image,
    cpus,
    memory,
    deadlineSeconds,
    sweep,
    parallel,
    runAs,
    configMap: configMap ? { name: `${name}-input`, items: configMap.items } : undefined,
  });
  // Where the output directory is: on this machine (data/ is mounted into the nodes) or on the node.
  job.metadata = { ...job.metadata, annotations: { ...job.metadata?.annotations, [annotations.outputOn]: target.local ? 'host' : 'node' } };

  const started = Date.now();
  let created: JobObject;
  try {
    // A create is never retried blindly: a retry after a lost answer could start the run twice.
    created = await client.request<JobObject>({ method: 'POST', path: `/apis/batch/v1/namespaces/${ns}/jobs`, body: job, retry: false });
    if (configMap) {
      const owned = { ...configMap.configMap, metadata: { ...configMap.configMap.metadata, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: created.metadata?.uid ?? '', controller: false }] } };
      await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, body: owned, retry: false });
    }
  } catch (err) {
    if (target.local) await rm(hostRunDir, { recursive: true, force: true });
    throw err instanceof KeystoneError ? new KeystoneError(`could not submit the run: ${err.message}`, { hint: err.hint ?? 'nothing was started; the staged input was removed' }) : err;
  }
  app.ui.info(`Submitted run ${runId} (job ${name}${sweep ? `, ${sweep.combinations.length} sweep runs` : ''}); output: ${shownDir}`);

  if (flags.detach) {
    app.ui.data(runId);
    app.ui.info(`Follow it: keystone jobs logs ${runId} -f    Cancel it: keystone jobs cancel ${runId}`);
    return ExitCode.ok;
  }

  app.ui.announceInterrupt = false;
  const c = app.ui.errColor; // for messages on stderr
  const localImages = await localImageNames(app.paths.composeFile);
  const progress = await createProgressDisplay(app, profile.progress, { runId, mode: progressMode, input, extraArgs, indexes: sweep?.combinations.length });
  let outcome;
  try {
    outcome = await followRun(client, created, {
      namespace: ns,
      runId,
      indexed: Boolean(sweep),
      signal: app.signal,
      localImages,
      timeoutMs: Math.min(maxTimerMs, deadlineSeconds !== undefined ? deadlineSeconds * 1000 + 5 * 60_000 : 7 * 24 * 3600_000),
      ...runPrinter(app, runId, progress),
    });
  } catch (err) {
    progress?.end();
    if (err instanceof RunCannotStartError) {
      await deleteRun(client, ns, name);
      throw new KeystoneError(`${err.message}; the run was cancelled (nothing ran)`, { hint: err.hint });
    }
    throw err;
  }
  progress?.end();

  if (outcome.state === 'Detached') {
    if (flags.cancelOnInterrupt) {
      await deleteRun(client, ns, name);
      app.ui.info(`Cancelled run ${runId}; its output so far stays in ${shownDir}`);
    } else {
      app.ui.info(`${app.signal.reason === stdoutClosedReason ? `${stdoutClosedReason}: ` : ''}Detached; run ${runId} keeps going. Re-attach: keystone jobs logs ${runId} -f    Cancel: keystone jobs cancel ${runId}`);
    }
    return ExitCode.interrupted;
  }
  if (sweep) {
    const rows = outcome.indexes.map((i) => [String(i.index), Object.entries(sweep.combinations[i.index] ?? {}).map(([k, v]) => `${k}=${v}`).join(' '), i.state, i.exitCode === undefined ? '-' : String(i.exitCode)]);
    const { renderTable } = await import('../ui/table.js');
    app.ui.info(renderTable(['INDEX', 'VALUES', 'STATE', 'EXIT'], rows));
  }
  const took = formatDuration(Date.now() - started);
  if (outcome.state === 'Succeeded') {
    app.ui.info(`${c.green('✓')} run ${runId} succeeded in ${took}; output: ${shownDir}`);
    return ExitCode.ok;
  }
  app.ui.error(
    `run ${runId} failed${outcome.reason ? ` (${outcome.reason})` : ''} with exit code ${outcome.exitCode}${outcome.message ? `: ${outcome.message}` : ''}; output: ${shownDir}`,
    `see the whole log: keystone jobs logs ${runId}`,
  );
  return outcome.exitCode;
}

async function getTemplate(client: KubeClient, ns: string, name: string, tool: string): Promise<JobObject> {
  try {
    return await client.request<JobObject>({ path: `/apis/batch/v1/namespaces/${ns}/jobs/${name}` });
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) {
      throw new KeystoneError(`the ${tool} template (Job ${name} in namespace ${ns}) is not in the cluster`, { hint: 'run `keystone setup` to apply k8s/manifests' });
    }
    throw err;
  }
}
