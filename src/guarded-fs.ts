/**
 * THE way keystone writes and deletes files: under data/ (or a directory the user named, such as
 * `jobs fetch --to`), never anywhere else. Every write and delete goes through a GuardedDir, which
 *   - refuses a path that leaves its root, also through a symlink (a linked data/<tool>/runs would
 *     otherwise lead staging and --purge-outputs to the link's target; on a k3d cluster the node
 *     would not even see it);
 *   - never overwrites a file whose content differs, unless the user said --force;
 *   - stops at the next file once Ctrl-C came (the caller undoes or reports what was half-done).
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import {
  chmod,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
  copyFile,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InterruptedError, KeystoneError, UsageError } from './errors.js';
import { describeFsError } from './fs-errors.js';

export interface GuardedDirOptions {
  /** Ctrl-C (the app's signal): each operation checks it first. */
  signal?: AbortSignal;
  /** --force: a differing file may be overwritten. */
  force?: boolean;
  /** How paths are shown in messages (relative to the working directory). */
  shown?: (path: string) => string;
}

/** A path would leave the guarded directory (directly, or through a symlink on the way). */
export class OutsideRootError extends KeystoneError {}

/** A file exists with other content, and --force was not given. */
export class WouldOverwriteError extends KeystoneError {}

export class GuardedDir {
  private realRoot: Promise<string> | undefined;

  constructor(
    readonly root: string,
    private readonly options: GuardedDirOptions = {},
  ) {}

  /** The same root with other options (a command's --force). */
  with(options: GuardedDirOptions): GuardedDir {
    return new GuardedDir(this.root, { ...this.options, ...options });
  }

  shown(path: string): string {
    return this.options.shown?.(path) ?? path;
  }

  /** Throws InterruptedError once Ctrl-C came: called before every write or delete. */
  checkpoint(): void {
    if (this.options.signal?.aborted) throw new InterruptedError();
  }

  /**
   * The path, made absolute, once it is known to stay inside the root: the deepest part of it
   * that exists is resolved (symlinks followed) and must be the root or under it.
   */
  async inside(path: string): Promise<string> {
    const absolute = resolve(this.root, path);
    const root = await this.rootReal();
    let existing = absolute;
    for (;;) {
      try {
        const real = await realpath(existing);
        const rest = relative(existing, absolute);
        const target = rest ? join(real, rest) : real;
        if (target !== root && !target.startsWith(root + sep)) {
          const link = await firstLinkOut(existing, resolve(this.root), root);
          const via = link ? ` (${this.shown(link.path)} leads to ${link.real})` : '';
          throw new OutsideRootError(`${this.shown(absolute)} is outside ${this.shown(this.root)}${via}`, {
            hint: `keystone writes and deletes only inside ${this.shown(this.root)}; replace the symlink with a directory`,
          });
        }
        return absolute;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        const parent = dirname(existing);
        if (parent === existing) return absolute;
        existing = parent;
      }
    }
  }

  async mkdir(path: string, mode = 0o755): Promise<string> {
    this.checkpoint();
    const dir = await this.inside(path);
    await mkdir(dir, { recursive: true, mode });
    return dir;
  }

  /** Writes a file; an existing one is left alone when it is the same, refused when it differs (unless --force). */
  async writeFile(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
    this.checkpoint();
    const file = await this.inside(path);
    if (await this.sameOrRefused(file, () => Promise.resolve(hash(data)))) return;
    await writeFile(file, data, { mode });
  }

  /**
   * Writes a file whole or not at all (a temporary file beside it, renamed over it): for a file
   * keystone keeps up to date itself, such as a run's record. A new file is written as
   * writeFile() writes one; an existing one is replaced only when it still holds what the caller
   * read (`replaces`: that content's SHA-256), so a file changed meanwhile, or one keystone did not
   * write, is refused (unless --force), never lost. A symlink there is never written through.
   */
  async replaceFile(path: string, data: string | Buffer, o: { replaces?: string; mode?: number } = {}): Promise<void> {
    this.checkpoint();
    const file = await this.inside(path);
    if (o.replaces === undefined) {
      if (await this.sameOrRefused(file, () => Promise.resolve(hash(data)))) return;
    } else if (
      !(await this.sameOrRefused(file, () => Promise.resolve(o.replaces!), { refuse: false })) &&
      !this.force
    ) {
      throw new WouldOverwriteError(
        `${this.shown(file)} was changed since keystone read it (or is missing); keystone does not overwrite it`,
        { hint: 'nothing was written; run the command again, or pass --force to overwrite it' },
      );
    }
    const temporary = `${file}.keystone-part`;
    await rm(temporary, { force: true }); // a link or a leftover there is removed, never followed
    await writeFile(temporary, data, { mode: o.mode ?? 0o644, flag: 'wx' });
    try {
      await rename(temporary, file);
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
  }

  /**
   * Opens a file inside the root for writing (`w`: created or emptied, `a`: appended to), for a
   * file keystone streams itself (a fetch's part file): the path is checked just before, and the
   * file itself is opened with O_NOFOLLOW, so a symlink there is refused, never written through.
   */
  async open(path: string, how: 'w' | 'a', mode = 0o644): Promise<FileHandle> {
    this.checkpoint();
    const file = await this.inside(path);
    const flags =
      constants.O_WRONLY |
      constants.O_CREAT |
      constants.O_NOFOLLOW |
      (how === 'a' ? constants.O_APPEND : constants.O_TRUNC);
    try {
      return await open(file, flags, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP' && (await lstat(file)).isSymbolicLink())
        throw new WouldOverwriteError(
          `${this.shown(file)} is a symlink (to ${await readlink(file)}); keystone does not write through it`,
          { hint: 'remove it, and run the command again' },
        );
      throw err;
    }
  }

  /**
   * Gives a file keystone wrote beside its place (a fetch's part file) its name: both paths are
   * checked just before (never through a symlink leaving the root, the source a regular file),
   * and a file already there is replaced only when it holds the same content (`sha256`: the
   * source's, when the caller knows it) or --force was given; a symlink there is never replaced.
   * (Node has no renameat(2): a link made in the instant between the check and the rename itself
   * is not seen; one made earlier, while the file was transferred, is.)
   */
  async rename(from: string, to: string, o: { sha256?: string } = {}): Promise<void> {
    this.checkpoint();
    const source = await this.inside(from);
    const target = await this.inside(to);
    if (!(await lstat(source)).isFile())
      throw new WouldOverwriteError(`${this.shown(source)} is not a regular file; keystone does not move it`, {
        hint: 'remove it, and run the command again',
      });
    await this.sameOrRefused(target, () => (o.sha256 !== undefined ? Promise.resolve(o.sha256) : fileHash(source)));
    await rename(source, target);
  }

  /**
   * Copies `source` (a file or a directory tree, symlinks followed as staging always did) to
   * `dest` inside the root, one file at a time, stopping at the next file after Ctrl-C.
   * Files are given `mode & keep` (a staged input is never writable by other users).
   */
  async copyIn(source: string, dest: string, keep = 0o755): Promise<void> {
    this.checkpoint();
    const target = await this.inside(dest);
    const info = await stat(source);
    if (info.isDirectory()) {
      await mkdir(target, { recursive: true, mode: info.mode & keep });
      await chmod(target, info.mode & keep);
      for (const entry of (await readdir(source)).sort())
        await this.copyIn(join(source, entry), join(target, entry), keep);
      return;
    }
    if (await this.sameOrRefused(target, () => fileHash(source))) return;
    await copyFile(source, target);
    await chmod(target, info.mode & keep);
  }

  /**
   * Deletes a file or a directory tree inside the root (a symlink itself is removed, never what
   * it points to). Not interrupted half-way: Ctrl-C is checked before it starts, except for a
   * `cleanup` (removing what an interrupted command half-made).
   */
  async remove(path: string, options: { cleanup?: boolean } = {}): Promise<void> {
    if (!options.cleanup) this.checkpoint();
    const absolute = resolve(this.root, path);
    // The directory it is in must be inside (data/<tool>/runs a link to elsewhere is refused) ...
    await this.inside(dirname(absolute));
    if (absolute === (await this.rootReal()) || resolve(this.root) === absolute)
      throw new OutsideRootError(`refusing to delete ${this.shown(absolute)} itself`);
    // ... and a link is removed as a link (rm never follows it).
    await rm(absolute, { recursive: true, force: true });
  }

  /** Whether `path` exists inside the root, as a link or otherwise (a link is not followed). */
  async exists(path: string): Promise<boolean> {
    try {
      await lstat(await this.inside(path));
      return true;
    } catch (err) {
      if (err instanceof KeystoneError) throw err;
      return false;
    }
  }

  /** Whether --force was given (a differing file may be overwritten). */
  get force(): boolean {
    return Boolean(this.options.force);
  }

  /**
   * What writing a file with this SHA-256 at `path` would do: nothing there, the same file there,
   * or another file there (which only --force may replace; `ensureWritable` refuses it).
   */
  async compare(path: string, sha256: string): Promise<'absent' | 'same' | 'differs'> {
    const file = await this.inside(path);
    try {
      await lstat(file);
    } catch {
      return 'absent';
    }
    try {
      if (await this.sameOrRefused(file, () => Promise.resolve(sha256), { refuse: false })) return 'same';
      return 'differs';
    } catch (err) {
      if (err instanceof WouldOverwriteError) return 'differs';
      throw err;
    }
  }

  /**
   * Refuses, before anything is written, when a file would be replaced by one with other content
   * (without --force): every such file is named, so the user decides once.
   */
  refuseOverwrites(paths: readonly string[]): void {
    if (paths.length === 0 || this.force) return;
    const shown = paths.slice(0, 5).map((p) => this.shown(p));
    const more = paths.length > 5 ? ` and ${paths.length - 5} more` : '';
    throw new WouldOverwriteError(
      `${paths.length === 1 ? 'a file' : `${paths.length} files`} already there with other content would be overwritten: ${shown.join(', ')}${more}; nothing was written`,
      {
        hint: 'move them away, choose another directory (--to), or pass --force to overwrite them',
      },
    );
  }

  /** Creates the directory and checks that a file can be written in it, before any work starts. */
  async ensureWritable(): Promise<void> {
    this.checkpoint();
    const root = resolve(this.root);
    let info;
    try {
      info = await stat(root);
    } catch {
      info = undefined;
    }
    if (info && !info.isDirectory())
      throw new UsageError(`${this.shown(root)} is not a directory`, 'name a directory (it is created when missing)');
    const probe = join(root, `.keystone-write-check-${process.pid}`);
    try {
      await mkdir(root, { recursive: true });
      await writeFile(probe, '');
      await rm(probe, { force: true });
    } catch (err) {
      throw describeFsError(err, `write in ${this.shown(root)}`, this.shown(root));
    }
  }

  /** True when the file is already there with this content; throws when another is there (without --force). */
  private async sameOrRefused(
    file: string,
    content: () => Promise<string>,
    how: { refuse: boolean } = { refuse: true },
  ): Promise<boolean> {
    let existing;
    try {
      existing = await lstat(file);
    } catch {
      return false;
    }
    if (existing.isSymbolicLink()) {
      throw new WouldOverwriteError(
        `${this.shown(file)} is a symlink (to ${await readlink(file)}); keystone does not write through it`,
        { hint: 'remove it, or choose another directory' },
      );
    }
    if (!existing.isFile())
      throw new WouldOverwriteError(`${this.shown(file)} exists and is not a file`, {
        hint: 'remove it, or choose another directory',
      });
    if ((await fileHash(file)) === (await content())) return true;
    if (this.options.force || !how.refuse) return false;
    throw new WouldOverwriteError(
      `${this.shown(file)} already exists with other content; keystone does not overwrite it`,
      { hint: 'move it away, choose another directory, or pass --force to overwrite it' },
    );
  }

  private rootReal(): Promise<string> {
    this.realRoot ??= realpath(this.root).catch(() => resolve(this.root));
    return this.realRoot;
  }
}

/**
 * The first path under the root on the way to `path` (which exists) that resolves outside the
 * root's real path `real`, with where it leads; undefined when `path` is not under `root` as written.
 */
async function firstLinkOut(
  path: string,
  root: string,
  real: string,
): Promise<{ path: string; real: string } | undefined> {
  if (!path.startsWith(root + sep)) return undefined;
  const parts = path.split(sep);
  for (let i = root.split(sep).length + 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(sep);
    const leads = await realpath(prefix).catch(() => prefix);
    if (leads !== real && !leads.startsWith(real + sep)) return { path: prefix, real: leads };
  }
  return undefined;
}

function hash(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function fileHash(file: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => h.update(chunk))
      .on('end', () => resolveHash(h.digest('hex')))
      .on('error', reject);
  });
}

/** `dir` given by the user: absolute, or relative to the working directory. */
export function userDir(cwd: string, dir: string): string {
  return isAbsolute(dir) ? dir : resolve(cwd, dir);
}
