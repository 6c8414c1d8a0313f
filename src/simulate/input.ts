/**
 * The <input> of a run: found by name in data/<tool>/ or as a path, and allowed only inside
 * the project's data/ directory (after following symlinks), so `../` and symlinks cannot reach
 * other files. Names are data: they are never parsed by a shell.
 */
import { lstat, readdir, readlink, realpath, stat, access, constants } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { printable } from '../operate/names.js';

export interface ResolvedInput {
  /** Real absolute path of the file or directory. */
  path: string;
  /** Its name, as the command will see it in the run directory. */
  name: string;
  kind: 'file' | 'directory';
  bytes: number;
  files: { relativePath: string; absolutePath: string; bytes: number }[];
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

export function checkInputText(raw: string): void {
  if (raw === '') throw new UsageError('the input is empty', 'name a file or directory, e.g. `keystone run-simulation lammps in.lj`');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new UsageError(`input name "${printable(raw)}" contains control characters (a newline?)`, 'rename the file');
  if (raw.includes('\ufffd')) throw new UsageError(`input name "${printable(raw)}" is not valid UTF-8`, 'rename the file to a UTF-8 name');
  if (raw.startsWith('-')) throw new UsageError(`input name "${printable(raw)}" starts with "-" and would be read as an option`, 'give it as ./NAME, or rename it');
}

export async function resolveInput(raw: string, options: { tool: string; kind: 'file' | 'directory'; dataDir: string; cwd: string }): Promise<ResolvedInput> {
  checkInputText(raw);
  const toolDir = join(options.dataDir, options.tool);
  const candidates = raw.includes('/') ? [resolve(options.cwd, raw)] : [join(toolDir, raw), resolve(options.cwd, raw)];
  let found: string | undefined;
  for (const candidate of candidates) {
    try {
      await lstat(candidate);
      found = candidate;
      break;
    } catch {
      // try the next place
    }
  }
  const shown = printable(raw);
  const toolLabel = relative(options.cwd, toolDir) || toolDir;
  if (!found) {
    throw new UsageError(`input "${shown}" not found (looked in ${toolLabel}/${raw.includes('/') ? '' : ' and the current directory'})`, `put it in ${toolLabel}/ and give its name`);
  }
  let real: string;
  let dataReal: string;
  try {
    real = await realpath(found);
    dataReal = await realpath(options.dataDir);
  } catch {
    throw new UsageError(`input "${shown}" is a broken symlink`, 'point it at a real file inside data/');
  }
  if (!isInside(real, dataReal)) {
    throw new UsageError(`input "${shown}" is outside ${relative(options.cwd, options.dataDir) || 'data'}/ (symlinks and ../ may not leave it)`, `copy it into ${toolLabel}/ first`);
  }
  const info = await stat(real);
  const kind = info.isDirectory() ? 'directory' : info.isFile() ? 'file' : undefined;
  if (kind !== options.kind) {
    throw new UsageError(
      `input "${shown}" is ${kind === 'directory' ? 'a directory' : kind === 'file' ? 'a file' : 'not a regular file'}; ${options.tool} takes a ${options.kind}`,
      options.kind === 'directory' ? `give the ${options.tool} case directory` : `give the ${options.tool} input file`,
    );
  }
  const files: ResolvedInput['files'] = [];
  if (kind === 'file') {
    await readable(real, shown);
    files.push({ relativePath: basename(real), absolutePath: real, bytes: info.size });
  } else {
    await walk(real, basename(real), files, dataReal, shown);
  }
  return { path: real, name: basename(real), kind, bytes: files.reduce((n, f) => n + f.bytes, 0), files };
}

async function readable(path: string, shown: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new UsageError(`input "${shown}" is not readable (${path})`, `fix its permissions: chmod u+r '${path}'`);
  }
}

async function walk(dir: string, rel: string, out: ResolvedInput['files'], dataReal: string, shown: string): Promise<void> {
  await readable(dir, shown);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    const relPath = `${rel}/${entry.name}`;
    if (entry.isSymbolicLink()) {
      const target = resolve(dirname(abs), await readlink(abs));
      const real = await realpath(target).catch(() => target);
      if (!isInside(real, dataReal)) throw new UsageError(`input "${shown}" contains a symlink leaving data/: ${relPath}`, 'replace the symlink with the file itself');
      const s = await stat(real);
      if (s.isDirectory()) await walk(real, relPath, out, dataReal, shown);
      else out.push({ relativePath: relPath, absolutePath: real, bytes: s.size });
    } else if (entry.isDirectory()) {
      await walk(abs, relPath, out, dataReal, shown);
    } else if (entry.isFile()) {
      await readable(abs, shown);
      out.push({ relativePath: relPath, absolutePath: abs, bytes: (await stat(abs)).size });
    }
  }
}
