/** `keystone jobs rerun <run-id>`: the same run again, from its record (runs/record/rerun.ts), on this cluster or --context. */
import type { AppContext } from '../app-context.js';
import { ExitCode } from '../errors.js';
import { requireRunId } from '../runs/catalog/lookup.js';
import { findRecordFile, readRecordFile } from '../runs/record/store.js';
import { findRecord } from '../runs/record/find.js';
import { planRerun, type RerunFlags } from '../runs/record/rerun.js';
import { submitRun } from '../runs/submit.js';
import { submitContextFor } from './submit-context.js';
import { attendRun } from '../runs/follow/attend.js';

export type { RerunFlags };

export async function jobsRerun(app: AppContext, id: string, flags: RerunFlags): Promise<number> {
  requireRunId(id);
  const target = await app.target();
  // The record on this machine first (a run of another cluster, fetched, reruns anywhere), else the target cluster's.
  const file = await findRecordFile(app.paths.dataDir, id);
  const record = file
    ? await readRecordFile(file, app.cwd)
    : (
        await findRecord(
          {
            client: () => app.client(),
            dataDir: app.paths.dataDir,
            data: app.data(),
            cwd: app.cwd,
            context: target.context,
            warn: (t) => app.ui.warn(t),
          },
          id,
        )
      ).record;
  const client = await app.client();
  const plan = await planRerun(record, flags, {
    client,
    runner: app.runner,
    context: target.context,
    local: target.local,
    dataDir: app.paths.dataDir,
    cwd: app.cwd,
    profilesFile: app.paths.profiles,
  });
  const req = plan.request;
  if (record.cluster.context !== target.context)
    plan.notes.push(`it runs on context ${target.context}; run ${id} ran on ${record.cluster.context}`);
  app.ui.info(
    `Rerunning run ${id} (${record.tool} ${record.input.name}${req.sweep ? `, a sweep of ${req.sweep.combinations.length}` : ''}) with image ${req.pinnedImage!.ref}`,
  );
  for (const note of plan.notes) app.ui.warn(`differs from run ${id}: ${note}`);
  const started = Date.now();
  const run = await submitRun(await submitContextFor(app, client, target), req);
  if (run.record.template.sha256 !== record.template.sha256)
    app.ui.warn(
      `differs from run ${id}: template ${record.template.name} has changed since; the rerun was built from the one in the cluster now`,
    );
  app.ui.info(`Submitted run ${run.runId}, a rerun of ${id}; output: ${run.storage.shown}`);
  if (req.detach) {
    app.ui.data(run.runId);
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
