/**
 * The SHA-256 a run record keeps of its input, computable without keystone:
 *   - a file: the SHA-256 of its bytes (`sha256sum in.lj`);
 *   - a directory: the SHA-256 of its listing as `sha256sum` prints it: one line
 *     "<sha256 of the file>  <path>\n" per regular file (symlinks followed, as staging copies them),
 *     paths relative to the directory, "/"-separated, sorted by their UTF-8 bytes (LC_ALL=C);
 *     directories, modes and times do not count. The same as
 *       cd data/openfoam/cavity && find -L . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
 *     (a name holding "\" or a newline is escaped as sha256sum escapes it: "\" first, "\\" and "\n").
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ResolvedInput } from '../request/input.js';

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The line sha256sum prints for one file. */
export function sha256sumLine(hex: string, path: string): string {
  const escaped = /[\\\n]/.test(path);
  return `${escaped ? '\\' : ''}${hex}  ${escaped ? path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : path}\n`;
}

/** "sha256:<hex>" of the input as defined above. */
export async function inputDigest(input: Pick<ResolvedInput, 'kind' | 'files' | 'name'>): Promise<string> {
  if (input.kind === 'file') return `sha256:${await fileSha256(input.files[0]!.absolutePath)}`;
  // files[].relativePath starts with the directory's own name: the listing is relative to the directory.
  const prefix = `${input.name}/`;
  const entries = input.files.map((f) => ({
    path: f.relativePath.startsWith(prefix) ? f.relativePath.slice(prefix.length) : f.relativePath,
    abs: f.absolutePath,
  }));
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const listing = createHash('sha256');
  for (const e of entries) listing.update(sha256sumLine(await fileSha256(e.abs), e.path));
  return `sha256:${listing.digest('hex')}`;
}
