/**
 * Uploading a run's input into its volume: a tar stream (archive.ts) sent over pods/exec
 * into `tar -x` in a helper pod, as `kubectl cp` does. Nothing is held whole in memory and there
 * is no size limit but the volume's.
 */
import { Writable } from 'node:stream';
import { KeystoneError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { execInPod } from '../../kube/pod-exec.js';
import type { ResolvedInput } from '../request/input.js';
import { inputArchive } from './archive.js';
import type { Sweep } from '../request/options.js';
import { helperMount, runIdentity, withHelperPod, type HelperSpec } from './helper-pod.js';
import { volumeRunDir } from '../model.js';

/** A Writable that keeps the last few KiB written (a command's stderr, for its error message). */
export function collectTail(limit = 4096): Writable & { text(): string } {
  let kept = Buffer.alloc(0);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      kept = Buffer.concat([kept, chunk]);
      if (kept.length > limit) kept = kept.subarray(kept.length - limit);
      done();
    },
  });
  return Object.assign(sink, { text: () => kept.toString('utf8').trim() });
}

/** Fixed script; the directory is "$1", never pasted into it. */
const untarInto = ['sh', '-c', 'mkdir -p -- "$1" && cd -- "$1" && exec tar -x -f -', 'keystone-upload'];

export async function uploadInput(
  client: KubeClient,
  helper: Omit<HelperSpec, 'client' | 'purpose'>,
  o: { tool: string; input: ResolvedInput; sweep?: Sweep },
): Promise<void> {
  const stderr = collectTail();
  const dir = `${helperMount}/${volumeRunDir(o.tool, helper.runId)}`;
  const { exitCode, step } = await withHelperPod({ ...helper, client, purpose: 'upload' }, async (pod) => {
    // A failed or interrupted upload leaves nothing half-written: the run directory goes, from
    // the same pod, before it is deleted (not cancellable: it is the clean-up of a Ctrl-C).
    const removePartial = () =>
      execInPod(client, {
        namespace: helper.namespace,
        pod,
        container: 'helper',
        command: ['rm', '-rf', '--', dir],
      }).catch(() => undefined);
    try {
      // The directory first, on its own: a volume the run's uid cannot write fails here with its
      // real message, not as a tar stream cut off mid-send when the command ends at once.
      const made = await execInPod(client, {
        namespace: helper.namespace,
        pod,
        container: 'helper',
        command: ['mkdir', '-p', '--', dir],
        stderr,
        signal: helper.signal,
      });
      if (made.exitCode !== 0) return { ...made, step: 'mkdir' };
      const result = await execInPod(client, {
        namespace: helper.namespace,
        pod,
        container: 'helper',
        command: [...untarInto, dir],
        stdin: inputArchive(o.input, o.sweep),
        stderr,
        signal: helper.signal,
      });
      if (result.exitCode !== 0) await removePartial();
      return { ...result, step: 'tar' };
    } catch (err) {
      await removePartial();
      throw err;
    }
  });
  if (exitCode !== 0) {
    const { uid, gid } = runIdentity(helper.from);
    throw new KeystoneError(
      `uploading the input to volume ${helper.claim} failed: ${step} exited with ${exitCode}${stderr.text() ? `: ${stderr.text()}` : ''}`,
      {
        hint: /Permission denied/i.test(stderr.text())
          ? // kubernetes-csi/csi-driver-nfs makes directories root-owned 0755 unless the class sets
            // mountPermissions, and a CSIDriver's default fsGroupPolicy (ReadWriteOnceWithFSType)
            // applies no fsGroup to a ReadWriteMany volume.
            `the volume is not writable by uid ${uid} (gid ${gid}): its storage class hands out directories the run cannot write and applies no fsGroup — for csi-driver-nfs set \`mountPermissions: "0777"\` in the StorageClass parameters, or \`fsGroupPolicy: File\` in its CSIDriver; then delete PersistentVolumeClaim ${helper.claim} and run again`
          : 'check the volume has room (--volume-size) and that the image has sh and tar',
      },
    );
  }
}
