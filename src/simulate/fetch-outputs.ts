/**
 * Bringing a run's outputs back from a volume in another cluster (`keystone jobs fetch`), through
 * a shell in a helper pod that mounts it. Like rsync, not like `kubectl cp`:
 *   - verified: the pod lists every file with its size and SHA-256; a file counts as fetched only
 *     when the local copy has both;
 *   - resumable: a file arrives as `<name>.keystone-part` and is renamed when verified; a later
 *     fetch skips files already here and continues a partial file from its length (`tail -c +N`);
 *   - streamed: each file is piped from the pod's stdout to disk with backpressure, never held in
 *     memory, so its size is bounded by the disk, not by keystone's heap.
 * The listing script uses only POSIX sh, find, wc and sha256sum (coreutils or busybox), so any
 * image with a shell serves as the helper.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { KeystoneError } from '../errors.js';

/** A shell in a pod that mounts the volume: runs argv, streaming its stdout into `stdout`. */
export interface PodShell {
  run(argv: string[], io?: { stdout?: Writable; stdin?: Readable }): Promise<{ exitCode: number; stderr: string }>;
}

export interface RemoteFile {
  /** Relative to the run directory, with "/" separators, never ".." or absolute. */
  path: string;
  size: number;
  sha256: string;
}

export const partSuffix = '.keystone-part';

/**
 * One record per regular file: "<size> <sha256> <path>\0". Symbolic links and other special files
 * are not outputs and are skipped; the directory is an argument, never pasted into the script.
 */
const listScript =
  'cd "$1" || exit 3; find . -type f -exec sh -c \'for f; do s=$(wc -c < "$f") || exit 4; h=$(sha256sum < "$f") || exit 4; printf "%s %s %s\\0" $s "${h%% *}" "${f#./}"; done\' keystone-list {} +';

export async function listRemoteFiles(shell: PodShell, remoteDir: string): Promise<RemoteFile[]> {
  const chunks: Buffer[] = [];
  const sink = new (await import('node:stream')).Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  const { exitCode, stderr } = await shell.run(['sh', '-c', listScript, 'keystone-list', remoteDir], { stdout: sink });
  if (exitCode === 3) throw new KeystoneError(`the run directory ${remoteDir} is not on the volume`, { hint: 'its outputs were purged, or the run never started; see `keystone jobs`' });
  if (exitCode !== 0) throw new KeystoneError(`could not list the outputs in ${remoteDir} (exit ${exitCode}): ${firstLine(stderr)}`);
  const files: RemoteFile[] = [];
  for (const record of Buffer.concat(chunks).toString('utf8').split('\0')) {
    if (record === '') continue;
    const m = /^(\d+) ([0-9a-f]{64}) (.+)$/s.exec(record);
    if (!m) throw new KeystoneError(`the helper pod listed an output keystone cannot read: ${JSON.stringify(record.slice(0, 80))}`);
    files.push({ size: Number(m[1]), sha256: m[2]!, path: safeRelative(m[3]!) });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A path from the pod must stay inside the destination: no "..", nothing absolute. */
function safeRelative(path: string): string {
  const n = normalize(path);
  if (isAbsolute(n) || n === '..' || n.startsWith(`..${sep}`) || n.split(sep).includes('..') || n.includes('\0')) {
    throw new KeystoneError(`the helper pod listed an output outside the run directory: ${JSON.stringify(path)}`, { hint: 'nothing was written for it; check the run directory on the volume' });
  }
  return path;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const info = await lstat(path);
    if (info.isSymbolicLink()) throw new KeystoneError(`${path} is a symbolic link; keystone does not write through one`, { hint: 'remove it, or fetch into another directory with --to' });
    return info.isFile() ? info.size : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface FetchReport {
  files: number;
  bytes: number;
  /** Files already here, verified, not transferred again. */
  skipped: number;
  /** Files that continued from a partial copy. */
  resumed: number;
  /** Bytes actually transferred this time. */
  transferred: number;
}

export interface FetchOptions {
  onFile?(file: RemoteFile, how: 'skip' | 'fetch' | 'resume'): void;
}

/** Fetches every file of `remoteDir` into `localDir`, verified, resuming what a previous fetch left. */
export async function fetchOutputs(shell: PodShell, remoteDir: string, localDir: string, o: FetchOptions = {}): Promise<FetchReport> {
  const files = await listRemoteFiles(shell, remoteDir);
  const report: FetchReport = { files: files.length, bytes: 0, skipped: 0, resumed: 0, transferred: 0 };
  await mkdir(localDir, { recursive: true });
  for (const file of files) {
    report.bytes += file.size;
    const target = join(localDir, file.path);
    const part = target + partSuffix;
    if ((await sizeOf(target)) === file.size && (await sha256OfFile(target)) === file.sha256) {
      report.skipped++;
      o.onFile?.(file, 'skip');
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    let offset = (await sizeOf(part)) ?? 0;
    if (offset > file.size) {
      await rm(part, { force: true });
      offset = 0;
    }
    o.onFile?.(file, offset > 0 ? 'resume' : 'fetch');
    if (offset > 0) report.resumed++;
    report.transferred += await transfer(shell, `${remoteDir}/${file.path}`, part, offset, file.size);
    if ((await sha256OfFile(part)) !== file.sha256) {
      // A partial copy that does not match (the file changed, or the copy was damaged): once more, whole.
      await rm(part, { force: true });
      report.transferred += await transfer(shell, `${remoteDir}/${file.path}`, part, 0, file.size);
      if ((await sha256OfFile(part)) !== file.sha256) {
        await rm(part, { force: true });
        throw new KeystoneError(`${file.path} arrived with a different SHA-256 than the volume's copy twice`, { hint: 'is the run still writing it? fetch again when it has finished' });
      }
    }
    await rename(part, target);
  }
  return report;
}

/** Appends bytes offset..size of the remote file to `part`; returns how many arrived. */
async function transfer(shell: PodShell, remotePath: string, part: string, offset: number, size: number): Promise<number> {
  if (offset === size) {
    if (size === 0) await writeFile(part, '', { mode: 0o644 });
    return 0;
  }
  const out = createWriteStream(part, { flags: offset > 0 ? 'a' : 'w', mode: 0o644 });
  const { exitCode, stderr } = await shell.run(['tail', '-c', `+${offset + 1}`, '--', remotePath], { stdout: out });
  await new Promise<void>((resolve, reject) => (out.closed ? resolve() : out.once('close', resolve).once('error', reject)));
  if (exitCode !== 0) throw new KeystoneError(`could not read ${remotePath} on the volume (exit ${exitCode}): ${firstLine(stderr)}`, { hint: 'run `keystone jobs fetch` again: it continues where it stopped' });
  return (await stat(part)).size - offset;
}

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';
