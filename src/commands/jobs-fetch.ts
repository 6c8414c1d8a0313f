/**
 * `keystone jobs fetch <run-id> [--to DIR]`: a run's outputs from its volume on another cluster
 * to data/<tool>/runs/<run-id>/ (or DIR), resumable and verified (runs/storage/fetch.ts).
 */
import { relative, resolve } from 'node:path';
import type { AppContext } from '../app-context.js';
import { KeystoneError } from '../errors.js';
import { stackNamespace } from '../vocabulary.js';
import { findRun, requireRunId } from '../runs/catalog/lookup.js';
import { fetchVolumeOutputs } from '../runs/storage/fetch.js';
import { runVolume, shownVolumeDir } from '../runs/storage/outputs.js';
import { hostRunDir } from '../runs/model.js';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export async function jobsFetch(app: AppContext, id: string, o: { to?: string }): Promise<void> {
  requireRunId(id);
  const client = await app.client();
  const run = await findRun(client, stackNamespace, id);
  if (run.outputLocal && run.outputDir) {
    app.ui.info(`Run ${id} ran on the keystone cluster: its outputs are already on this machine, in ${relative(app.cwd, run.outputDir) || run.outputDir}.`);
    return;
  }
  const volume = await runVolume(client, stackNamespace, run);
  if (!volume) throw new KeystoneError(`run ${id}'s outputs are not on a run volume (${run.outputDir ?? 'no run directory'}${run.outputNodes.length ? ` on ${run.outputNodes.join(', ')}` : ''})`, { hint: 'runs made before run volumes left their outputs on the node; copy them with kubectl' });
  const dest = resolve(app.cwd, o.to ?? hostRunDir(app.paths.dataDir, run.tool, id));
  const shownDest = relative(app.cwd, dest) || dest;
  if (run.state === 'Running' || run.state === 'Pending') app.ui.warn(`run ${id} is still ${run.state.toLowerCase()}: this fetches its outputs as they are now`);
  app.ui.info(`Fetching ${shownVolumeDir(volume.claim, volume.tool, id)} to ${shownDest}`);
  const report = await fetchVolumeOutputs(client, volume, dest, { signal: app.signal, onFile: (path, bytes) => app.ui.info(`  ${path} (${mib(bytes)})`) });
  app.ui.info(
    `Fetched run ${id}: ${report.files} file${report.files === 1 ? '' : 's'} (${mib(report.totalBytes)}) verified in ${shownDest}; ` +
      `${report.transferred} transferred (${mib(report.transferredBytes)}${report.resumed ? `, ${report.resumed} resumed` : ''}), ${report.unchanged} already here`,
  );
}
