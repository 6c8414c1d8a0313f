/** `keystone run-simulation <tool> <input> [-- args]`: submit a run from the tool's template and follow it. */
import type { AppContext } from '../app-context.js';
import { ExitCode, UsageError } from '../errors.js';
import { parseRunRequest, type RunFlags } from '../runs/request/request.js';
import { submitRun } from '../runs/submit.js';
import { submitContextFor } from './submit-context.js';
import { attendRun } from '../runs/follow/attend.js';

export type { RunFlags };

export async function runSimulation(
  app: AppContext,
  tool: string,
  inputText: string,
  extraArgs: string[],
  flags: RunFlags,
): Promise<number> {
  // Everything the user typed is checked before the cluster is touched.
  const req = await parseRunRequest(tool, inputText, extraArgs, flags, {
    profilesFile: app.paths.profiles,
    dataDir: app.paths.dataDir,
    cwd: app.cwd,
  });
  const target = await app.target();
  // Refused, never ignored: on keystone's own cluster a run writes to ./data on the host, with no volume to size.
  if (req.volumeSize !== undefined && target.local)
    throw new UsageError(
      '--volume-size does not apply on the keystone k3d cluster: runs write to ./data on this machine, not to a volume keystone creates',
      'drop it; it sizes the run volume on another cluster (--context)',
    );
  const client = await app.client();
  const started = Date.now();
  const run = await submitRun(await submitContextFor(app, client, target), req);
  const what =
    run.kind === 'MPIJob'
      ? `MPIJob ${run.name}, ${req.ranks} ranks on ${req.nodes} nodes`
      : `job ${run.name}${req.sweep ? `, ${req.sweep.combinations.length} sweep runs` : ''}`;
  app.ui.info(`Submitted run ${run.runId} (${what}); output: ${run.storage.shown}`);
  if (req.detach) {
    app.ui.data(run.runId);
    app.ui.info(`Follow it: keystone jobs logs ${run.runId} -f    Cancel it: keystone jobs cancel ${run.runId}`);
    return ExitCode.ok;
  }
  return attendRun(
    { ui: app.ui, signal: app.signal, composeFile: app.paths.composeFile, data: app.data() },
    client,
    run,
    req,
    started,
  );
}
