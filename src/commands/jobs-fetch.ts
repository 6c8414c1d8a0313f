/**
 * `keystone jobs fetch <run-id> [--to DIR]`: a run's outputs from its volume on another cluster
 * to data/<tool>/runs/<run-id>/ (or DIR), resumable and verified (runs/storage/fetch.ts).
 */
import { join, relative, resolve } from 'node:path';
import type { AppContext } from '../app-context.js';
import { KeystoneError } from '../errors.js';
import { stackNamespace } from '../vocabulary.js';
import { findRun, requireRunId } from '../runs/catalog/lookup.js';
import { fetchVolumeOutputs } from '../runs/storage/fetch.js';
import { runVolume, shownVolumeDir } from '../runs/storage/outputs.js';
import { hostRunDir } from '../runs/model.js';
import { printable } from '../operate/names.js';
import { readRecordFileAsIs, runInCluster, writeRecordFile } from '../runs/record/store.js';
import { recordFileName, sealRecord } from '../runs/record/record.js';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export async function jobsFetch(app: AppContext, id: string, o: { to?: string; force?: boolean }): Promise<void> {
  requireRunId(id);
  const client = await app.client();
  const run = await findRun(client, stackNamespace, id);
  if (run.outputLocal && run.outputDir) {
    app.ui.info(
      `Run ${id} ran on the keystone cluster: its outputs are already on this machine, in ${relative(app.cwd, run.outputDir) || run.outputDir}.`,
    );
    return;
  }
  const volume = await runVolume(client, stackNamespace, run);
  if (!volume)
    throw new KeystoneError(
      `run ${id}'s outputs are not on a run volume (${run.outputDir ?? 'no run directory'}${run.outputNodes.length ? ` on ${run.outputNodes.join(', ')}` : ''})`,
      { hint: 'runs made before run volumes left their outputs on the node; copy them with kubectl' },
    );
  const dest = resolve(app.cwd, o.to ?? hostRunDir(app.paths.dataDir, run.tool, id));
  const shownDest = relative(app.cwd, dest) || dest;
  // Into data/ through the guarded data directory; --to DIR is guarded the same way, rooted there.
  const guarded = o.to === undefined ? app.data().with({ force: o.force }) : app.guardedDir(dest, { force: o.force });
  // What cannot work is refused before the helper pod is made: --to a file, a directory that
  // cannot be written, a symlink leading out of data/.
  await guarded.inside(dest);
  await app.guardedDir(dest).ensureWritable();
  if (run.state === 'Running' || run.state === 'Pending')
    app.ui.warn(`run ${id} is still ${run.state.toLowerCase()}: this fetches its outputs as they are now`);
  app.ui.info(`Fetching ${shownVolumeDir(volume.claim, volume.tool, id)} to ${shownDest}`);
  const report = await fetchVolumeOutputs(client, volume, dest, guarded, {
    signal: app.signal,
    onFile: (path, bytes) => app.ui.info(`  ${path} (${mib(bytes)})`),
  });
  // Its record comes along (from the run's annotation), so `jobs show` and `jobs rerun` work from here.
  const live = await runInCluster(client, stackNamespace, id);
  if (live?.record) {
    const path = join(dest, recordFileName);
    // An earlier fetch's record of this run is brought up to date; any other file there is
    // replaced only with --force (src/guarded-fs.ts).
    const earlier = await readRecordFileAsIs(path, app.cwd).catch(() => undefined);
    await writeRecordFile(
      guarded,
      path,
      live.outcome.ended ? sealRecord({ ...live.record, outcome: live.outcome }) : live.record,
      earlier?.record.runId === id ? earlier.sha256 : undefined,
    );
    app.ui.info(`  ${recordFileName} (the run's record)`);
  }
  app.ui.info(
    `Fetched run ${id}: ${report.files} file${report.files === 1 ? '' : 's'} (${mib(report.totalBytes)}) verified in ${shownDest}; ` +
      `${report.transferred} transferred (${mib(report.transferredBytes)}${report.resumed ? `, ${report.resumed} resumed` : ''}), ${report.unchanged} already here`,
  );
  // Only regular files come (a symlink may lead anywhere on the volume, or nowhere): the rest is named.
  if (report.skipped.length) {
    const shown = report.skipped.slice(0, 5).map((s) => `${printable(s.path)} (${s.kind})`);
    const more = report.skipped.length > 5 ? ` and ${report.skipped.length - 5} more` : '';
    app.ui.warn(
      `not fetched: ${report.skipped.length} entr${report.skipped.length === 1 ? 'y' : 'ies'} that ${report.skipped.length === 1 ? 'is' : 'are'} not a regular file: ${shown.join(', ')}${more}`,
    );
  }
}
