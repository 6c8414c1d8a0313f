/**
 * A run's directory on its volume (another cluster): where it is, and removing it. On the shared
 * claim a helper pod deletes data/<tool>/runs/<run-id>; a run's own ReadWriteOnce claim holds
 * nothing else, so the claim itself is deleted (the provisioner's Delete policy frees the disk).
 */
import { KeystoneError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { execInPod } from '../../kube/pod-exec.js';
import { annotations, labels } from '../../vocabulary.js';
import { deleteClaim, sharedClaimName } from './claim.js';
import { helperMount, withHelperPod } from './helper-pod.js';
import { collectTail } from './upload.js';
import { getRunObject } from '../catalog/list.js';
import { runKind, shownVolumeDir, volumeRunDir, type RunSummary } from '../model.js';
import type { JobObject } from '../../kube/objects.js';

export interface VolumeRun {
  namespace: string;
  claim: string;
  tool: string;
  runId: string;
  /** The run's Job (or its template): image and uid for a helper pod. */
  from: JobObject;
}

/** The volume a run Job's outputs are on, or undefined when they are not on a volume. */
export function volumeOf(job: JobObject): VolumeRun | undefined {
  const meta = job.metadata;
  const claim = meta?.annotations?.[annotations.outputClaim];
  const tool = meta?.labels?.[labels.tool];
  const runId = meta?.labels?.[labels.runId];
  if (meta?.annotations?.[annotations.outputOn] !== 'volume' || !claim || !tool || !runId) return undefined;
  return { namespace: meta.namespace ?? '', claim, tool, runId, from: job };
}

/** How a run's volume directory is shown: "volume keystone-data: lammps/runs/<id>". */
export { shownVolumeDir } from '../model.js';

/** Deletes a run's outputs on its volume. */
export async function removeVolumeOutputs(client: KubeClient, run: VolumeRun, signal?: AbortSignal): Promise<void> {
  if (run.claim !== sharedClaimName) {
    await deleteClaim(client, run.namespace, run.claim);
    return;
  }
  const stderr = collectTail();
  const { exitCode } = await withHelperPod(
    { client, namespace: run.namespace, claim: run.claim, purpose: 'purge', runId: run.runId, from: run.from, signal },
    (pod) =>
      execInPod(client, {
        namespace: run.namespace,
        pod,
        container: 'helper',
        command: ['rm', '-rf', '--', `${helperMount}/${volumeRunDir(run.tool, run.runId)}`],
        stderr,
        signal,
      }),
  );
  if (exitCode !== 0)
    throw new KeystoneError(
      `could not delete ${shownVolumeDir(run.claim, run.tool, run.runId)}: rm exited with ${exitCode}${stderr.text() ? `: ${stderr.text()}` : ''}`,
    );
}

/** A listed run's volume, read from its Job or MPIJob (the annotations and pod template say where). */
export async function runVolume(
  client: KubeClient,
  namespace: string,
  run: Pick<RunSummary, 'job' | 'nodes'>,
): Promise<VolumeRun | undefined> {
  return volumeOf(await getRunObject(client, namespace, run, runKind(run)));
}

/** `jobs clean --purge-outputs` for a run on a volume: reads its Job (or MPIJob), then removes its directory. */
export async function purgeVolumeRun(
  client: KubeClient,
  namespace: string,
  run: Pick<RunSummary, 'job' | 'nodes'>,
  signal?: AbortSignal,
): Promise<void> {
  const volume = await runVolume(client, namespace, run);
  if (!volume) throw new KeystoneError(`run object ${run.job} does not name the volume its outputs are on`);
  await removeVolumeOutputs(client, volume, signal);
}
