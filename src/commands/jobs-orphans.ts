/**
 * `keystone jobs --orphans` and `keystone jobs clean --orphans`: run directories on this machine
 * whose run is gone from the cluster (runs/record/orphans.ts), listed and removed. Removal goes
 * through the guarded data directory (src/guarded-fs.ts: nothing outside data/, nothing through
 * a link leading out of it), asks on a terminal (--yes skips it), and stops after the directory
 * in hand on Ctrl-C, saying what was and was not removed.
 */
import { relative } from 'node:path';
import type { AppContext } from '../app-context.js';
import { ExitCode, InterruptedError, KeystoneError } from '../errors.js';
import { parseAge } from '../duration.js';
import { describeFsError } from '../fs-errors.js';
import { formatAge } from '../operate/pod-summary.js';
import { findOrphans, orphanNotes, treeBytes, type Orphans, type RunDir } from '../runs/record/orphans.js';
import { stackNamespace } from '../vocabulary.js';

const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 ** 2
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

async function orphansHere(app: AppContext, tool: string | undefined): Promise<Orphans> {
  const target = await app.target();
  return findOrphans({
    dataDir: app.paths.dataDir,
    target,
    client: () => app.client(),
    namespace: stackNamespace,
    tool,
  });
}

const ago = (time: string) => `${formatAge(Math.max(0, Math.round((Date.now() - Date.parse(time)) / 1000)))} ago`;

export async function listOrphans(app: AppContext, o: { output: string; tool?: string | undefined }): Promise<void> {
  const found = await orphansHere(app, o.tool);
  const sized = [];
  for (const d of found.orphans) sized.push({ ...d, bytes: await treeBytes(d.dir, app.signal) });
  if (o.output === 'json' || o.output === 'yaml') {
    await app.ui.document(
      {
        context: found.context,
        orphans: sized.map((d) => ({
          runId: d.runId,
          tool: d.tool,
          dir: d.dir,
          recorded: d.recorded,
          submittedAt: d.submittedAt,
          bytes: d.bytes,
          ...(d.image ? { image: d.image } : {}),
        })),
        otherClusters: [...found.elsewhere.entries()].map(([context, directories]) => ({ context, directories })),
        leftOut: found.young.map((d) => d.runId),
      },
      o.output,
    );
    return;
  }
  for (const note of orphanNotes(found)) app.ui.info(note);
  if (sized.length === 0) {
    app.ui.info(`No run directories without a run in context ${found.context}.`);
    return;
  }
  const wide = o.output === 'wide';
  const { renderTable } = await import('../ui/table.js');
  app.ui.data(
    renderTable(
      ['RUN ID', 'TOOL', 'SUBMITTED', 'SIZE', 'RECORD', 'DIRECTORY', ...(wide ? ['IMAGE'] : [])],
      sized.map((d) => [
        d.runId,
        d.tool,
        ago(d.submittedAt),
        size(d.bytes),
        d.recorded ? 'yes' : 'no',
        relative(app.cwd, d.dir) || d.dir,
        ...(wide ? [d.image ?? '-'] : []),
      ]),
      app.ui.columns,
    ),
  );
  const total = sized.reduce((a, d) => a + d.bytes, 0);
  app.ui.info(
    `${sized.length} run director${sized.length === 1 ? 'y' : 'ies'} (${size(total)}) without a run in context ${found.context}; \`keystone jobs clean --orphans\` removes them`,
  );
}

export interface CleanOrphansOptions {
  tool?: string | undefined;
  olderThan?: string | undefined;
  dryRun?: boolean;
}

/**
 * Removes run directories without a run: each named before any is removed (--dry-run stops
 * there), asked on a terminal, then one at a time through the guarded data directory.
 */
export async function cleanOrphans(app: AppContext, o: CleanOrphansOptions): Promise<number> {
  const olderThanMs = o.olderThan !== undefined ? parseAge(o.olderThan, '--older-than') : 0;
  const found = await orphansHere(app, o.tool);
  for (const note of orphanNotes(found)) app.ui.info(note);
  const now = Date.now();
  const chosen = found.orphans.filter((d) => now - Date.parse(d.submittedAt) >= olderThanMs);
  if (chosen.length === 0) {
    app.ui.info(`No run directories without a run in context ${found.context} to remove.`);
    return ExitCode.ok;
  }
  const shown = (d: RunDir) => relative(app.cwd, d.dir) || d.dir;
  const lines = [];
  for (const d of chosen)
    lines.push(
      `  ${shown(d)} (${d.tool}, submitted ${ago(d.submittedAt)}, ${size(await treeBytes(d.dir, app.signal))}${d.recorded ? '' : ', no run record'})`,
    );
  const s = chosen.length === 1 ? 'y' : 'ies';
  app.ui.info(
    `${o.dryRun ? 'Would remove' : 'Removing'} ${chosen.length} run director${s} without a run in context ${found.context}:\n${lines.join('\n')}`,
  );
  if (o.dryRun) {
    app.ui.info('Dry run: nothing was removed.');
    return ExitCode.ok;
  }
  if (
    !(await app.confirm(
      `Delete ${chosen.length === 1 ? 'this run directory' : `these ${chosen.length} run directories`} and everything in ${chosen.length === 1 ? 'it' : 'them'}?`,
    ))
  )
    throw new KeystoneError('nothing was removed (not confirmed)', { hint: '`--yes` removes without asking' });
  const data = app.data();
  const removed: string[] = [];
  const kept: string[] = [];
  for (const [i, d] of chosen.entries()) {
    const rest = () => chosen.slice(i).map((x) => x.runId);
    if (app.signal.aborted) throw interrupted(removed, [...kept, ...rest()]);
    try {
      await data.remove(d.dir);
    } catch (err) {
      if (err instanceof InterruptedError) throw interrupted(removed, [...kept, ...rest()]);
      const described = describeFsError(err, `remove ${shown(d)}`, shown(d));
      app.ui.warn(`kept ${shown(d)}: ${described instanceof Error ? described.message : String(described)}`);
      kept.push(d.runId);
      continue;
    }
    app.ui.info(`removed ${shown(d)}`);
    removed.push(d.runId);
  }
  app.ui.info(`Removed ${removed.length} run director${removed.length === 1 ? 'y' : 'ies'}.`);
  if (kept.length)
    throw new KeystoneError(
      `${kept.length} run director${kept.length === 1 ? 'y' : 'ies'} not removed: ${kept.join(', ')}`,
      {
        hint: 'fix the cause above and run the command again',
      },
    );
  return ExitCode.ok;
}

function interrupted(removed: string[], notRemoved: string[]): InterruptedError {
  const list = (ids: string[]) => (ids.length ? ids.join(', ') : 'none');
  return new InterruptedError(
    `interrupted: removed ${removed.length} run director${removed.length === 1 ? 'y' : 'ies'} (${list(removed)}); not removed: ${list(notRemoved)}`,
    '`keystone jobs --orphans` still lists the ones not removed; run the command again to remove them',
  );
}
