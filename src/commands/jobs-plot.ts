/**
 * `keystone jobs plot <run-id> [--out FILE.svg|.png] [--series NAME,...]`: the run's convergence
 * (OpenFOAM residuals) or thermodynamics (LAMMPS thermo) from its log, as a picture or, without
 * --out, as a small chart in the terminal. A sweep gives one line per index on the same axes.
 */
import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, lstat, readFile, readlink, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { AppContext } from '../app-context.js';
import { KeystoneError, UsageError } from '../errors.js';
import { WouldOverwriteError } from '../guarded-fs.js';
import { describeFsError } from '../fs-errors.js';
import { stackNamespace } from '../vocabulary.js';
import { followLogs } from '../operate/follow-logs.js';
import { printable } from '../operate/names.js';
import { findRun, requireRunId } from '../runs/catalog/lookup.js';
import { runKind, runPodSelector, podIndex } from '../runs/model.js';
import { loadProfiles } from '../runs/request/profiles.js';
import { chartOf, seriesNames } from '../plot/series.js';
import { renderPng, renderSvg } from '../plot/svg-chart.js';
import { renderTerminal } from '../plot/terminal-chart.js';
import type { PodObject } from '../kube/objects.js';

export async function jobsPlot(
  app: AppContext,
  id: string,
  o: { out?: string; series?: string; force?: boolean },
): Promise<void> {
  requireRunId(id);
  const format = o.out === undefined ? 'terminal' : extname(o.out).toLowerCase();
  if (format !== 'terminal' && format !== '.svg' && format !== '.png') {
    throw new UsageError(
      `--out ${printable(o.out!)}: the picture must be a .svg or .png file`,
      'e.g. --out residuals.svg',
    );
  }
  if (o.force && o.out === undefined)
    throw new UsageError(
      '--force replaces an --out file; without --out nothing is written',
      'add --out FILE, or drop --force',
    );
  // A picture that cannot be written is refused before the run is looked up.
  if (o.out !== undefined) await checkWritable(resolve(app.cwd, o.out), o.out);
  const only = o.series
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (only?.length === 0)
    throw new UsageError(`--series ${printable(o.series!)} names no series`, 'e.g. --series Temp,TotEng');
  const profiles = await loadProfiles(app.paths.profiles, app.cwd);
  const client = await app.client();
  const run = await findRun(client, stackNamespace, id);
  const plot = profiles[run.tool]?.plot;
  if (!plot)
    throw new KeystoneError(`runs of ${run.tool} have nothing to plot`, {
      hint: `the ${run.tool} profile in k8s/simulations/profiles.yaml has no "plot" (lammps and openfoam have)`,
    });

  const logs = await podLogs(app, id, runPodSelector(id, runKind(run)), Boolean(run.sweep));
  if (logs.size === 0 && plot.logFile && run.outputDir && existsSync(run.outputDir)) {
    const indexes = run.sweep ? [...Array(run.sweep.total).keys()] : [undefined];
    for (const i of indexes) {
      const file = join(run.outputDir, i === undefined ? '' : String(i), plot.logFile);
      if (existsSync(file)) logs.set(i, await readFile(file, 'utf8'));
    }
  }
  if (logs.size === 0)
    throw new KeystoneError(`run ${id} has no log left to plot`, {
      hint: `its pods are gone${plot.logFile ? ` and ${plot.logFile} is not in ${run.outputDir ?? 'its run directory'}` : ''}`,
    });

  // Every name --series gives must be one the log has: a misspelt one is named, never dropped.
  const available = seriesNames(plot.series, logs);
  const unknown = available.length ? (only ?? []).filter((name) => !available.includes(name)) : [];
  if (unknown.length)
    throw new KeystoneError(
      `run ${id}'s log has no series ${unknown.map(printable).join(', ')}; it has: ${available.join(', ')}`,
      { hint: '--series takes names from that list, comma-separated' },
    );
  const chart = chartOf(plot.series, logs, { title: `${run.tool} run ${id}`, only });
  if (chart.series.length === 0) {
    throw new KeystoneError(
      `nothing to plot in run ${id}'s log${only?.length ? ` for --series ${only.join(',')}` : ''}`,
      { hint: 'the run may not have reached its first output step yet' },
    );
  }
  if (format === 'terminal') {
    app.ui.data(renderTerminal(chart, app.ui.color));
    return;
  }
  const svg = renderSvg(chart);
  const picture = format === '.svg' ? Buffer.from(svg) : await renderPng(svg);
  const file = resolve(app.cwd, o.out!);
  const shown = relative(app.cwd, file) || o.out!;
  // Written through the guard (src/guarded-fs.ts): under data/ rooted at data/ (a symlink there
  // leading out of it is refused, as for every write under data/), elsewhere at the file's own
  // directory; whole or not at all, never through a symlink.
  const dataDir = resolve(app.paths.dataDir);
  const guarded = (file.startsWith(dataDir + sep) ? app.data() : app.guardedDir(dirname(file))).with({
    force: o.force,
  });
  const what = `${chart.series.length} series, ${chart.series.reduce((n, s) => n + s.points.length, 0)} points: ${chart.series.map((s) => s.name).join(', ')}`;
  // A file already there is never replaced without --force, whoever made it: a plot the user
  // kept (or edited) is theirs. The same picture again is left as it is.
  const here = await guarded.compare(file, createHash('sha256').update(picture).digest('hex'));
  if (here === 'same') {
    app.ui.info(`${printable(shown)} is unchanged (${what})`);
    return;
  }
  if (here === 'differs' && !o.force)
    throw new WouldOverwriteError(`--out ${printable(shown)} already exists with other content; nothing was written`, {
      hint: 'pass --force to replace it, or choose another --out',
    });
  await guarded.replaceFile(file, picture);
  app.ui.info(`${here === 'differs' ? 'Replaced' : 'Wrote'} ${printable(shown)} (${what})`);
}

/**
 * --out names a file that can be written: its directory exists (it is not created: a mistyped
 * path is more likely than a wish for new directories) and takes files, and it is not a directory.
 */
async function checkWritable(file: string, given: string): Promise<void> {
  const shown = printable(given);
  const dir = dirname(file);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new UsageError(
      `--out ${shown}: ${info ? `${dirname(shown)} is not a directory` : `there is no directory ${dirname(shown)}`}`,
      'name a file in an existing directory (keystone does not create it)',
    );
  if ((await stat(file).catch(() => undefined))?.isDirectory())
    throw new UsageError(`--out ${shown} is a directory`, 'name the picture file, e.g. --out residuals.svg');
  // keystone never writes through a symlink (src/guarded-fs.ts): it could lead anywhere.
  if ((await lstat(file).catch(() => undefined))?.isSymbolicLink())
    throw new UsageError(
      `--out ${shown} is a symlink (to ${printable(await readlink(file))}); keystone does not write through it`,
      'name the file the link points to, or another file',
    );
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    throw describeFsError(err, `write --out ${shown}`, dirname(shown));
  }
}

/** The run's output pods' logs (an MPIJob's: its launcher's), per sweep index (undefined for a single run); a retried index: its attempts in order. */
async function podLogs(
  app: AppContext,
  id: string,
  selector: string,
  indexed: boolean,
): Promise<Map<number | undefined, string>> {
  const client = await app.client();
  const pods = (await client.list<PodObject>(`/api/v1/namespaces/${stackNamespace}/pods`, { labelSelector: selector }))
    .items;
  const logs = new Map<number | undefined, string>();
  if (pods.length === 0) return logs;
  await followLogs(
    client,
    { kind: 'simulation', name: id, selector },
    pods,
    {
      follow: false,
      timestamps: false,
      previous: false,
      namespace: stackNamespace,
      prefix: (pod) => (indexed ? String(podIndex(pod)) : undefined),
    },
    {
      line: (prefix, _key, text) => {
        const key = prefix === undefined ? undefined : Number(prefix);
        logs.set(key, `${logs.get(key) ?? ''}${text}\n`);
      },
      notice: (t) => app.ui.debug(t),
    },
    app.signal,
  );
  return logs;
}
