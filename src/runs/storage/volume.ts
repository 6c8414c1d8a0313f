/**
 * Run storage on another cluster (--context): the run directory is on a PersistentVolumeClaim
 * in the keystone namespace (claim.ts decides which), the input is uploaded into it through
 * a helper pod (upload.ts), and the run's Job mounts the claim where the template had its
 * hostPath `data` volume. Nothing on the node, no hostPath, no size limit but the volume's.
 */
import { annotations, labels } from '../../vocabulary.js';
import { checkTemplateForVolume, type BuildOptions } from '../build/job.js';
import {
  claimBound,
  createClaim,
  deleteClaim,
  defaultVolumeSize,
  perRunClaimName,
  rememberPerRunClaims,
  sharedClaimName,
  sharedClaimState,
} from './claim.js';
import { ClaimProvisioningError } from './helper-pod.js';
import { provisioningFailure } from './claim-provisioning.js';
import { removeVolumeOutputs, shownVolumeDir } from './outputs.js';
import { uploadInput } from './upload.js';
import { unsharedRunDirectory } from '../request/nodes.js';
import { nodeRunDir, volumeRunDir } from '../model.js';
import type { RunPlace, StorageContext } from './types.js';

export function volumeStorage(ctx: StorageContext, run: RunPlace) {
  const { client } = ctx;
  const dir = nodeRunDir(run.tool, run.runId);
  const size = run.volumeSize ?? defaultVolumeSize;
  const runLabels = { [labels.tool]: run.tool, [labels.runId]: run.runId };
  let claim: string | undefined;
  /** The per-run claim this submission made (discard deletes it). */
  let ownClaim = false;

  // The helper runs the run's own image (--image: the template's may be in no registry the cluster reaches).
  const runJob = () => run.runJob?.() ?? run.template;
  // A per-run claim's first pod fixes its node or zone: that helper asks for what the run needs.
  const upload = (name: string) =>
    uploadInput(
      client,
      {
        namespace: run.namespace,
        claim: name,
        runId: run.runId,
        from: runJob(),
        sizedLikeRun: name !== sharedClaimName,
        signal: ctx.signal,
      },
      { tool: run.tool, input: run.input, sweep: run.sweep },
    );

  const perRun = async () => {
    claim = perRunClaimName(run.name);
    await createClaim(client, run.namespace, claim, { size, accessMode: 'ReadWriteOnce', labels: runLabels });
    ownClaim = true;
    try {
      await upload(claim);
    } catch (err) {
      await deleteClaim(client, run.namespace, claim).catch(() => undefined); // nothing else is on it
      throw err;
    }
  };

  return {
    workingDir: dir,
    outputDir: dir,
    outputOn: 'volume' as const,
    get shown() {
      return `${shownVolumeDir(claim ?? '?', run.tool, run.runId)} (context ${ctx.target.context}; \`keystone jobs clean --purge-outputs\` deletes it)`;
    },
    async stage(): Promise<string | undefined> {
      checkTemplateForVolume(run.template.spec.template, run.template.metadata?.name ?? run.tool, ctx.target);
      const state = await sharedClaimState(client, run.namespace);
      // A run across nodes needs the shared ReadWriteMany volume (a per-run claim is ReadWriteOnce,
      // one node's): refused before anything is written, and never given a per-run claim.
      const refuseUnshared = () => {
        if (run.acrossNodes)
          throw unsharedRunDirectory(
            run.acrossNodes,
            `${volumeRunDir(run.tool, run.runId)} on a ReadWriteOnce volume of one node`,
            ctx.target.context,
          );
      };
      if (state === 'per-run') {
        refuseUnshared();
        await perRun();
        return undefined;
      }
      if (state === 'absent') {
        await createClaim(client, run.namespace, sharedClaimName, { size, accessMode: 'ReadWriteMany' });
      }
      claim = sharedClaimName;
      try {
        await upload(claim);
        return state === 'absent'
          ? `created volume ${sharedClaimName} (ReadWriteMany, ${size}) for the runs on this cluster`
          : undefined;
      } catch (err) {
        // A shared claim that never got a volume holds nothing: it goes, or it would make every
        // later run wait on it too (one left by an interrupted first run is refused the same way).
        if (!(err instanceof ClaimProvisioningError)) {
          if (state === 'absent' && !(await claimBound(client, run.namespace, sharedClaimName).catch(() => true)))
            await deleteClaim(client, run.namespace, sharedClaimName).catch(() => undefined);
          throw err;
        }
        // This cluster cannot share one volume between nodes: one ReadWriteOnce claim per run.
        const why =
          (await provisioningFailure(client, run.namespace, sharedClaimName).catch(() => undefined)) ?? err.message;
        await deleteClaim(client, run.namespace, sharedClaimName);
        await rememberPerRunClaims(client, run.namespace, why);
        refuseUnshared();
        await perRun();
        return `this cluster cannot provision ReadWriteMany volumes, so each run gets its own ReadWriteOnce volume (${size}): ${why}`;
      }
    },
    jobOptions: (): Pick<BuildOptions, 'volume'> => ({
      volume: claim ? { claimName: claim, subPath: run.tool, target: ctx.target } : undefined,
    }),
    annotations: (): Record<string, string> => (claim ? { [annotations.outputClaim]: claim } : {}),
    async afterCreate() {},
    async discard() {
      if (!claim) return;
      if (ownClaim) await deleteClaim(client, run.namespace, claim);
      else
        await removeVolumeOutputs(client, {
          namespace: run.namespace,
          claim,
          tool: run.tool,
          runId: run.runId,
          from: runJob(),
        });
    },
  };
}
