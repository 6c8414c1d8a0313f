/**
 * The <input> of a run: found by name in data/<tool>/ or as a path, and allowed only inside
 * the project's data/ directory (after following symlinks), so `../` and symlinks cannot reach
 * other files. Names are data: they are never parsed by a shell.
 */
import { lstat, realpath, stat, access, constants } from 'node:fs/promises';
import { accessSync, lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { describeFsError } from '../../fs-errors.js';
import { UsageError } from '../../errors.js';
import { printable } from '../../operate/names.js';
import { byText } from '../../text-order.js';
import { hostRunsDir } from '../model.js';

export interface ResolvedInput {
  /** Real absolute path of the file or directory. */
  path: string;
  /** Its name, as the command will see it in the run directory. */
  name: string;
  kind: 'file' | 'directory';
  bytes: number;
  files: { relativePath: string; absolutePath: string; bytes: number }[];
}

/** Both absolute and normalized (real paths): a prefix test, not path.relative per entry of a walk. */
function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

export function checkInputText(raw: string): void {
  if (raw === '')
    throw new UsageError('the input is empty', 'name a file or directory, e.g. `keystone run-simulation lammps in.lj`');
  if (/[\u0000-\u001f\u007f]/.test(raw))
    throw new UsageError(`input name "${printable(raw)}" contains control characters (a newline?)`, 'rename the file');
  if (raw.includes('\ufffd'))
    throw new UsageError(`input name "${printable(raw)}" is not valid UTF-8`, 'rename the file to a UTF-8 name');
}

/** Limits on a case directory, so a link farm cannot make staging run for ever or fill the disk. */
export const inputLimits = { maxFiles: 10_000, maxDepth: 32 } as const;

/**
 * Where to look for <input>: by name (or sub/path) in data/<tool>/ first, then from the current
 * directory; ./ and ../ and absolute paths mean the current directory only. Trailing slashes
 * (from tab completion) do not matter.
 */
function candidatePaths(raw: string, toolDir: string, cwd: string): string[] {
  const trimmed = raw.length > 1 ? raw.replace(/\/+$/, '') || '/' : raw;
  if (
    isAbsolute(trimmed) ||
    trimmed === '.' ||
    trimmed === '..' ||
    trimmed.startsWith('./') ||
    trimmed.startsWith('../')
  )
    return [resolve(cwd, trimmed)];
  return [join(toolDir, trimmed), resolve(cwd, trimmed)];
}

export async function resolveInput(
  raw: string,
  options: { tool: string; kind: 'file' | 'directory'; dataDir: string; cwd: string },
): Promise<ResolvedInput> {
  checkInputText(raw);
  const toolDir = join(options.dataDir, options.tool);
  const candidates = candidatePaths(raw, toolDir, options.cwd);
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
    const looked =
      candidates.length > 1
        ? `${toolLabel}/ and the current directory`
        : relative(options.cwd, candidates[0]!) || candidates[0]!;
    throw new UsageError(
      `input "${shown}" not found (looked in ${looked})`,
      `put it in ${toolLabel}/ and give its name`,
    );
  }
  let dataReal: string;
  try {
    dataReal = await realpath(options.dataDir);
  } catch (err) {
    throw describeFsError(err, 'open the data directory', relative(options.cwd, options.dataDir) || options.dataDir);
  }
  let real: string;
  try {
    real = await realpath(found);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP')
      throw new UsageError(`input "${shown}" is a symlink loop`, 'point it at a real file inside data/');
    throw new UsageError(`input "${shown}" is a broken symlink`, 'point it at a real file inside data/');
  }
  if (!isInside(real, dataReal)) {
    throw new UsageError(
      `input "${shown}" is outside ${relative(options.cwd, options.dataDir) || 'data'}/ (symlinks and ../ may not leave it)`,
      `copy it into ${toolLabel}/ first`,
    );
  }
  const info = await stat(real);
  const kind = info.isDirectory() ? 'directory' : info.isFile() ? 'file' : undefined;
  if (kind !== options.kind) {
    throw new UsageError(
      `input "${shown}" is ${kind === 'directory' ? 'a directory' : kind === 'file' ? 'a file' : 'not a regular file'}; ${options.tool} takes a ${options.kind}`,
      options.kind === 'directory' ? `give the ${options.tool} case directory` : `give the ${options.tool} input file`,
    );
  }
  // The run directory goes to data/<tool>/runs/<id>/: an input holding it would be copied into itself.
  const runsDir = hostRunsDir(dataReal, options.tool);
  if (kind === 'directory' && isInside(runsDir, real)) {
    throw new UsageError(
      `input "${shown}" contains ${relative(options.cwd, hostRunsDir(options.dataDir, options.tool))}/, where the run would be staged (a directory cannot be copied into itself)`,
      `give the case directory itself, e.g. ${toolLabel}/cavity`,
    );
  }
  const files: ResolvedInput['files'] = [];
  if (kind === 'file') {
    await readable(real, shown);
    files.push({ relativePath: basename(real), absolutePath: real, bytes: info.size });
  } else {
    await walk(real, basename(real), files, { dataReal, shown, ancestors: [real], seen: { count: 0 } });
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

interface WalkState {
  dataReal: string;
  shown: string;
  /** Real paths of the directories being walked, outermost first: a link to one of them is a loop. */
  ancestors: string[];
  /** Entries seen so far (files and directories), shared by the whole walk. */
  seen: { count: number };
}

function readableSync(path: string, shown: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`input "${shown}" is not readable (${path})`, `fix its permissions: chmod u+r '${path}'`);
  }
}

/**
 * Lists a case directory's files the way staging copies them (symlinks followed). Every link
 * is checked: broken, leaving data/, or pointing back up the tree (a loop) is refused by name;
 * depth and file count are bounded so the walk ends in bounded time and memory.
 *
 * One directory at a time with synchronous calls, the event loop turning between directories (so
 * Ctrl-C is seen): four or five file-system calls per entry, each awaited through libuv's thread
 * pool one after the other, made a case of 10,000 entries take seconds of waiting (7 s for the
 * link-farm test here); synchronous, it is a tenth of that, and no directory holds more entries
 * than inputLimits allows.
 */
async function walk(dir: string, rel: string, out: ResolvedInput['files'], state: WalkState): Promise<void> {
  const { dataReal, shown } = state;
  await new Promise((next) => setImmediate(next));
  readableSync(dir, shown);
  if (state.ancestors.length > inputLimits.maxDepth) {
    throw new UsageError(
      `input "${shown}" is nested more than ${inputLimits.maxDepth} directories deep (at ${rel})`,
      'flatten the case directory',
    );
  }
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw describeFsError(err, `read ${rel}`, dir);
  }
  for (const entry of entries.sort((a, b) => byText(a.name, b.name))) {
    if (++state.seen.count > inputLimits.maxFiles) {
      throw new UsageError(
        `input "${shown}" has more than ${inputLimits.maxFiles} files and directories (following its symlinks)`,
        'stage a smaller case, or leave bulky data out of it',
      );
    }
    const abs = join(dir, entry.name);
    const relPath = `${rel}/${entry.name}`;
    let real = abs;
    let info;
    if (entry.isSymbolicLink()) {
      const target = readlinkSync(abs);
      try {
        real = realpathSync.native(abs);
      } catch (err) {
        const loop = (err as NodeJS.ErrnoException).code === 'ELOOP';
        throw new UsageError(
          `input "${shown}" contains a ${loop ? 'symlink loop' : 'broken symlink'}: ${printable(relPath)} -> ${printable(target)}`,
          'remove the link or replace it with the file itself',
        );
      }
      if (!isInside(real, dataReal))
        throw new UsageError(
          `input "${shown}" contains a symlink leaving data/: ${printable(relPath)} -> ${printable(target)}`,
          'replace the symlink with the file itself',
        );
      if (state.ancestors.some((a) => isInside(a, real))) {
        throw new UsageError(
          `input "${shown}" contains a symlink back up its own tree (a loop): ${printable(relPath)} -> ${printable(target)}`,
          'remove the link; staging would copy the tree into itself for ever',
        );
      }
      info = statSync(real);
    } else {
      info = lstatSync(abs);
    }
    if (info.isDirectory()) {
      await walk(real, relPath, out, { ...state, ancestors: [...state.ancestors, real] });
    } else if (info.isFile()) {
      readableSync(real, shown);
      out.push({ relativePath: relPath, absolutePath: real, bytes: info.size });
    } else {
      throw new UsageError(
        `input "${shown}" contains ${printable(relPath)}, which is not a file or directory (a socket, FIFO or device)`,
        'remove it from the case directory',
      );
    }
  }
}
