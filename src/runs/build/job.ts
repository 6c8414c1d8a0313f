/**
 * A run's Job, built from the tool's template Job as it is in the cluster (so edits to the
 * manifests apply): unsuspended, named <tool>-<run-id>, labelled, with the profile's command.
 */
import { KeystoneError } from '../../errors.js';
import type { Sweep } from '../request/options.js';
import { annotations, labels, labelValue } from '../../vocabulary.js';
import type { JobObject } from '../../kube/objects.js';
import { installStackCommand, type StackTarget } from '../../kube/target.js';

/** Labels the API server adds to a Job's pods; a copy of a template must not carry them over. */
const generatedLabels = [
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
];

export interface BuildOptions {
  tool: string;
  runId: string;
  name: string;
  command: string[];
  workingDir: string;
  inputName: string;
  outputDir: string;
  retries: number;
  env: [string, string][];
  image?: string;
  cpus?: string;
  memory?: string;
  deadlineSeconds?: number;
  sweep?: Sweep;
  parallel?: number;
  /** The uid/gid the pod runs as (local cluster: the invoking user's; see run-as.ts). */
  runAs?: { uid: number; gid: number };
  /**
   * Another cluster: the claim that holds the run directory. It replaces the template's `data`
   * volume (a hostPath), mounted at the same place with subPath <tool>.
   */
  volume?: { claimName: string; subPath: string; target: StackTarget };
}

/** The template's volume for the run directory: a hostPath on the keystone cluster, a claim elsewhere. */
export const dataVolumeName = 'data';

/**
 * Whether a template can run on a run volume: it has the `data` volume for the run directory and
 * no other hostPath (checked before anything is uploaded).
 */
export function checkTemplateForVolume(
  pod: JobObject['spec']['template'],
  template: string,
  target: StackTarget,
): void {
  const volumes = pod.spec.volumes ?? [];
  if (!volumes.some((v) => v.name === dataVolumeName)) {
    throw new KeystoneError(`template ${template} has no volume named "${dataVolumeName}" for the run directory`, {
      hint: `restore the data volume in its manifest under k8s/manifests/ and run \`${installStackCommand(target)}\``,
    });
  }
  const hostPaths = volumes.filter((v) => v.name !== dataVolumeName && 'hostPath' in v).map((v) => String(v.name));
  if (hostPaths.length) {
    throw new KeystoneError(
      `template ${template} has hostPath volume${hostPaths.length > 1 ? 's' : ''} ${hostPaths.join(', ')}, which another cluster cannot provide`,
      { hint: 'remove them from its manifest under k8s/manifests/, or run on the keystone cluster' },
    );
  }
}

/**
 * Puts the claim where the template's `data` volume was and gives the pod an fsGroup, so the
 * volume is writable by the run's uid. A hostPath left in the pod would be refused by a
 * `baseline` or `restricted` namespace (and means nothing on another cluster's nodes): refused here.
 */
function mountClaim(
  pod: JobObject['spec']['template'],
  volume: { claimName: string; subPath: string; target: StackTarget },
  template: string,
): void {
  checkTemplateForVolume(pod, template, volume.target);
  pod.spec.volumes = (pod.spec.volumes ?? []).map((v) =>
    v.name === dataVolumeName ? { name: dataVolumeName, persistentVolumeClaim: { claimName: volume.claimName } } : v,
  );
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    c.volumeMounts = c.volumeMounts?.map((m) => (m.name === dataVolumeName ? { ...m, subPath: volume.subPath } : m));
  }
  const sc = (pod.spec.securityContext ?? {}) as {
    runAsGroup?: number;
    runAsUser?: number;
    fsGroup?: number;
    fsGroupChangePolicy?: string;
  };
  // OnRootMismatch: the kubelet changes ownership only when the volume's root is not already the
  // fsGroup's, not the whole (shared, growing) volume at every pod start (the default, Always).
  pod.spec.securityContext = {
    ...sc,
    fsGroup: sc.fsGroup ?? sc.runAsGroup ?? sc.runAsUser ?? 1000,
    fsGroupChangePolicy: sc.fsGroupChangePolicy ?? 'OnRootMismatch',
  };
}

export const sweepLauncher = [
  'sh',
  '-c',
  'cd "$JOB_COMPLETION_INDEX" && set -a && . ./params.env && set +a && exec "$@"',
  'keystone-sweep',
];

/** The container a run's command goes into: the one named `simulation`, else the first. */
export function simulationContainer<C extends { name: string }>(containers: C[]): C | undefined {
  return containers.find((c) => c.name === 'simulation') ?? containers[0];
}

export function buildJobFromTemplate(template: JobObject, o: BuildOptions): JobObject {
  const pod = structuredClone(template.spec.template);
  const podLabels = { ...(pod.metadata?.labels ?? {}) };
  for (const l of generatedLabels) delete podLabels[l];
  pod.metadata = { ...pod.metadata, labels: { ...podLabels, [labels.tool]: o.tool, [labels.runId]: o.runId } };

  const container = simulationContainer(pod.spec.containers);
  if (!container) throw new Error(`template ${template.metadata?.name} has no container`);
  container.command = o.sweep ? [...sweepLauncher, ...o.command] : o.command;
  delete container.args;
  container.workingDir = o.workingDir;
  container.env = [
    ...(container.env ?? []),
    { name: 'KEYSTONE_RUN_ID', value: o.runId },
    ...o.env.map(([name, value]) => ({ name, value })),
  ];
  if (o.image) container.image = o.image;
  if (o.runAs) {
    // Pod level for every container; a container-level uid in the template would win, so it is set too.
    pod.spec.securityContext = {
      ...(pod.spec.securityContext as Record<string, unknown> | undefined),
      runAsUser: o.runAs.uid,
      runAsGroup: o.runAs.gid,
    };
    for (const c of pod.spec.containers) {
      if (c.securityContext && ('runAsUser' in c.securityContext || 'runAsGroup' in c.securityContext)) {
        c.securityContext = { ...c.securityContext, runAsUser: o.runAs.uid, runAsGroup: o.runAs.gid };
      }
    }
  }
  if (o.cpus || o.memory) {
    const requests = { ...container.resources?.requests };
    const limits = { ...container.resources?.limits };
    if (o.cpus) requests.cpu = limits.cpu = o.cpus;
    if (o.memory) requests.memory = limits.memory = o.memory;
    container.resources = { requests, limits };
  }

  if (o.volume) mountClaim(pod, o.volume, template.metadata?.name ?? o.tool);

  const spec: JobObject['spec'] = { ...structuredClone(template.spec), template: pod, suspend: false };
  delete spec.selector;
  delete spec.manualSelector;
  if (o.sweep) {
    spec.completionMode = 'Indexed';
    spec.completions = o.sweep.combinations.length;
    spec.parallelism = Math.min(o.parallel ?? o.sweep.combinations.length, o.sweep.combinations.length);
    // Each index fails on its own; the others still run (backoffLimit then defaults to unlimited).
    spec.backoffLimitPerIndex = o.retries;
    delete spec.backoffLimit;
  } else {
    spec.backoffLimit = o.retries;
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (o.deadlineSeconds !== undefined) spec.activeDeadlineSeconds = o.deadlineSeconds;
  else delete spec.activeDeadlineSeconds;

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: o.name,
      namespace: template.metadata?.namespace,
      labels: { [labels.partOf]: labelValue, [labels.tool]: o.tool, [labels.runId]: o.runId },
      annotations: {
        [annotations.input]: o.inputName,
        [annotations.outputDir]: o.outputDir,
        ...(o.sweep ? { [annotations.sweep]: JSON.stringify(o.sweep.combinations) } : {}),
      },
    },
    spec,
  };
}
