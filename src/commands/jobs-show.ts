/** `keystone jobs show <run-id>`: a run's record (what produced it and how it ended), as `sacct -j` shows accounting. */
import type { AppContext } from '../app-context.js';
import { requireRunId } from '../runs/catalog/lookup.js';
import { findRecord, type FoundRecord } from '../runs/record/find.js';
import { annotations } from '../vocabulary.js';

export async function jobsShow(app: AppContext, id: string, output: 'table' | 'json' | 'yaml'): Promise<FoundRecord> {
  requireRunId(id);
  const target = await app.target();
  const found = await findRecord(
    {
      client: () => app.client(),
      dataDir: app.paths.dataDir,
      data: app.data(),
      cwd: app.cwd,
      context: target.context,
      warn: (t) => app.ui.warn(t),
    },
    id,
  );
  if (output === 'json' || output === 'yaml') {
    await app.ui.document(found, output);
    return found;
  }
  app.ui.data(showRecord(found));
  return found;
}

const kib = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 ** 2
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** The record as label/value lines. */
export function showRecord({ record: r, outcome, recordFile, inCluster }: FoundRecord): string {
  const o = outcome;
  const rows: [string, string][] = [
    ['run', `${r.runId} (${r.tool}, ${r.runKind} ${r.job})${r.rerunOf ? `, a rerun of ${r.rerunOf}` : ''}`],
    [
      'state',
      o
        ? `${o.state}${o.reason ? ` (${o.reason})` : ''}${o.exitCode !== undefined ? `, exit code ${o.exitCode}` : ''}${o.ended ? `; ended: ${o.ended}` : ''}`
        : 'not recorded (the run left the cluster before keystone saw it end)',
    ],
    ['submitted', `${r.submittedAt} by keystone ${r.keystoneVersion}`],
    ['started', o?.startedAt ?? '-'],
    ['finished', o?.finishedAt ?? '-'],
    ['command', ['keystone', ...r.argv].map(quoteWord).join(' ')],
    ['env', r.env.length ? `${r.env.join(', ')} (values are never recorded)` : '-'],
    [
      'image',
      `${r.image.ref} (${r.image.pinnedBy === 'digest' ? 'pinned by digest' : 'no registry digest: pinned by image ID'}; from ${r.image.source})`,
    ],
    [
      '',
      `asked for ${r.image.requested}${r.image.id ? `; image ID ${r.image.id}` : ''}${r.image.pinnedBy === 'image-id' && r.image.digest ? `; registry digest ${r.image.digest}` : ''}`,
    ],
    ['ran', o?.imageIds.length ? o.imageIds.join(', ') : '-'],
    [
      'input',
      `${r.input.name} (${r.input.kind}, ${kib(r.input.bytes)}, ${r.input.files} file${r.input.files === 1 ? '' : 's'}) from ${r.input.path}`,
    ],
    ['', r.input.sha256],
    ['profile', `${r.tool}: template ${r.template.name} (pod template ${r.template.sha256.slice(0, 19)}…)`],
    [
      'cluster',
      `${r.cluster.name} (context ${r.cluster.context}${r.cluster.local ? ', the keystone cluster' : ''}${r.cluster.server ? `, ${r.cluster.server}` : ''})`,
    ],
    ['nodes', o?.nodes.length ? o.nodes.join(', ') : '-'],
    [
      'record',
      [recordFile, inCluster ? `the cluster (annotation ${annotations.runRecord} of ${r.runKind} ${r.job})` : undefined]
        .filter(Boolean)
        .join(' and '),
    ],
    ['checksum', r.checksum],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${k ? `${k}:` : ''}`.padEnd(width) + v).join('\n');
}

/** A word as a shell would need it to be typed (for reading the command; never run). */
function quoteWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./…-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
