/**
 * The local k3d cluster's storage: ./data is mounted at /data on every node, so the input is staged
 * in data/<tool>/runs/<run-id>/ on this machine and the outputs appear beside it as they are written.
 */
import { join, relative } from 'node:path';
import { InterruptedError, KeystoneError } from '../../errors.js';
import { OutsideRootError } from '../../guarded-fs.js';
import { describeFsError } from '../../fs-errors.js';
import { hostRunDir, nodeRunDir } from '../model.js';
import { chownTree, currentIdentity, runAsForLocalCluster, type RunAs } from '../build/run-as.js';
import { stageOnHost } from './staging.js';
import type { RunPlace, RunStorage, StorageContext } from './types.js';

export function hostStorage(ctx: StorageContext, run: RunPlace): RunStorage {
  const dir = hostRunDir(ctx.dataDir, run.tool, run.runId);
  const shown = relative(ctx.cwd, dir) || dir;
  const toolDir = join(ctx.dataDir, run.tool);
  // The pod writes ./data through a hostPath: it runs as the directory's owner (run-as.ts).
  const runAs: RunAs | undefined = runAsForLocalCluster(currentIdentity(ctx.env));
  const { data } = ctx;
  return {
    workingDir: nodeRunDir(run.tool, run.runId),
    outputDir: dir,
    outputOn: 'host',
    shown,
    async stage() {
      try {
        await stageOnHost(data, run.input, dir, run.sweep);
      } catch (err) {
        // A partly staged run directory goes (it is new, nothing else is in it) -- unless it is
        // outside data/, which keystone never touches.
        if (!(err instanceof OutsideRootError)) await data.remove(dir, { cleanup: true }).catch(() => undefined);
        if (err instanceof InterruptedError)
          throw new InterruptedError(
            `interrupted while staging the input: nothing was submitted, and the half-made ${shown} was removed`,
          );
        throw describeFsError(err, `stage the input in ${shown}`, relative(ctx.cwd, toolDir) || toolDir);
      }
      if (runAs?.chownRunDir) {
        await chownTree(dir, runAs.uid, runAs.gid).catch(async (err: unknown) => {
          await data.remove(dir, { cleanup: true });
          throw new KeystoneError(`cannot hand the run directory to uid ${runAs.uid}: ${(err as Error).message}`, {
            hint: 'nothing was submitted; the staged input was removed',
          });
        });
      }
      return runAs?.note;
    },
    jobOptions: () => ({ runAs, volume: undefined }),
    async afterCreate() {},
    async discard() {
      await data.remove(dir, { cleanup: true });
    },
  };
}
