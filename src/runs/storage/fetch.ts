/**
 * Bringing a run's outputs from its volume (another cluster) to this machine, through a helper
 * pod: first a manifest computed in the pod (size and SHA-256 of every regular file), then each
 * file that is missing here or different, streamed from `tail -c +N` over pods/exec straight into
 * a file (never held in memory). A file arrives as <name>.keystone-part and is renamed once its
 * size and SHA-256 match the manifest, so an interrupted transfer resumes where it stopped, and a
 * second fetch transfers only what changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { GuardedDir } from '../../guarded-fs.js';
import { describeFsError } from '../../fs-errors.js';
import { once } from 'node:events';
import { dirname, join, resolve, sep } from 'node:path';
import { Writable } from 'node:stream';
import { extract } from 'tar-stream';
import { KeystoneError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { execInPod } from '../../kube/pod-exec.js';
import { helperMount, withHelperPod } from './helper-pod.js';
import { collectTail } from './upload.js';
import { shownVolumeDir, type VolumeRun } from './outputs.js';
import { volumeRunDir } from '../model.js';

export const partSuffix = '.keystone-part';

export interface ManifestEntry {
  /** Relative to the run directory, "/"-separated. */
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Fixed script; the run directory is "$1". NUL-terminated records (NUL, because a file name may
 * hold anything else). With GNU find and coreutils (the simulation images are Debian), two passes
 * and a handful of processes: "S <bytes> ./<path>" from `find -printf`, "<sha256>  ./<path>" from
 * `sha256sum -z` (no escaping of names with -z). Elsewhere (busybox), one combined record per
 * file, "<bytes> <sha256> ./<path>", at the cost of a few processes per file. Then what is neither
 * a regular file nor a directory (a symlink, a pipe), which is not fetched but named to the user:
 * "X <type> ./<path>", the type as `find -printf %y` gives it (l: symlink; "?" from busybox).
 */
const manifestScript = [
  'sh',
  '-c',
  'cd -- "$1" || exit 1; ' +
    'if find . -maxdepth 0 -printf "" >/dev/null 2>&1 && sha256sum -z /dev/null >/dev/null 2>&1; then ' +
    'find . -type f -printf "S %s %p\\0" && find . -type f -exec sha256sum -z -- {} + && ' +
    'find . ! -type f ! -type d -printf "X %y %p\\0"; ' +
    'else find . -type f -exec sh -c \'for f do s=$(wc -c < "$f" | tr -d " ") && h=$(sha256sum < "$f") && printf "%s %s %s\\0" "$s" "${h%% *}" "$f" || exit 1; done\' keystone-manifest {} + && ' +
    'find . ! -type f ! -type d -exec sh -c \'for f do printf "X ? %s\\0" "$f"; done\' keystone-manifest {} +; fi',
  'keystone-manifest',
];

/** What the manifest names but a fetch leaves behind: neither regular files nor directories. */
export interface SkippedEntry {
  path: string;
  /** "symbolic link", "named pipe", ...; "not a regular file" when the helper could not tell. */
  kind: string;
}

const skippedKinds: Record<string, string> = {
  l: 'symbolic link',
  p: 'named pipe',
  s: 'socket',
  b: 'block device',
  c: 'character device',
};

const skippedRecord = /^X (\S) \.\/(.+)$/s;

/** The manifest's "X" records: the entries a fetch does not bring, in path order. */
export function skippedIn(text: string): SkippedEntry[] {
  return text
    .split('\0')
    .map((record) => skippedRecord.exec(record))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ path: m[2]!, kind: skippedKinds[m[1]!] ?? 'not a regular file' }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Parses the manifest (either form); refuses a path that would leave the destination. A file
 * seen by one pass only (it appeared while the run was listed) is left for the next fetch.
 */
export function parseManifest(text: string): ManifestEntry[] {
  const sizes = new Map<string, number>();
  const hashes = new Map<string, string>();
  for (const record of text.split('\0')) {
    if (!record || skippedRecord.test(record)) continue;
    const m = /^(?:S (\d+) |([0-9a-f]{64}) [ *]|(\d+) ([0-9a-f]{64}) )\.\/(.+)$/s.exec(record);
    if (!m)
      throw new KeystoneError(`unreadable manifest line from the helper pod: ${JSON.stringify(record.slice(0, 120))}`);
    const path = m[5]!;
    if (path.split('/').some((part) => part === '..' || part === '' || part === '.'))
      throw new KeystoneError(`refusing the path ${JSON.stringify(path)} from the volume`);
    const bytes = m[1] ?? m[3];
    const sha = m[2] ?? m[4];
    if (bytes !== undefined) sizes.set(path, Number(bytes));
    if (sha !== undefined) hashes.set(path, sha);
  }
  const entries: ManifestEntry[] = [];
  for (const [path, bytes] of sizes) {
    const sha256 = hashes.get(path);
    if (sha256 !== undefined) entries.push({ path, bytes, sha256 });
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** SHA-256 and size of a local file, streamed; undefined when it does not exist. */
async function localDigest(path: string): Promise<{ bytes: number; sha256: string } | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return undefined;
  }
  if (!info.isFile()) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { bytes: info.size, sha256: hash.digest('hex') };
}

async function sizeOf(path: string): Promise<number> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : 0;
  } catch {
    return 0;
  }
}

/**
 * A part file being written, opened through the guard (inside the destination, never through a
 * symlink), with its error kept instead of thrown as an unhandled 'error' event (a directory that
 * cannot be written crashed the command and left the helper pod behind): the caller checks
 * `failure` and throws it as a message, and the helper pod is deleted on the way out.
 */
async function partFile(
  dest: GuardedDir,
  path: string,
  how: 'w' | 'a',
): Promise<{ out: WriteStream; failure: { throwIfAny(): void } }> {
  let handle;
  try {
    handle = await dest.open(path, how);
  } catch (err) {
    if (err instanceof KeystoneError) throw err;
    throw describeFsError(err, `write ${path}`, dirname(path));
  }
  const out = createWriteStream(path, { fd: handle });
  let error: unknown;
  out.on('error', (err) => (error ??= err));
  return {
    out,
    failure: {
      throwIfAny() {
        if (error !== undefined) throw describeFsError(error, `write ${path}`, dirname(path));
      },
    },
  };
}

/** Ends a file stream and waits until its descriptor is closed (after its last write, or its error). */
function closed(out: WriteStream): Promise<void> {
  return new Promise((done) => {
    if (out.closed) return done();
    out.once('close', () => done());
    out.end();
  });
}

/** The local path of a manifest entry, never outside the destination. */
function targetOf(root: string, path: string): string {
  const target = join(root, ...path.split('/'));
  if (!target.startsWith(root + sep))
    throw new KeystoneError(`refusing the path ${JSON.stringify(path)} from the volume`);
  return target;
}

/** Fixed script; the run directory is "$1", the files ("./path") the other arguments. */
const tarFiles = ['sh', '-c', 'cd -- "$1" && shift && exec tar -c -f - "$@"', 'keystone-fetch-batch'];

/**
 * Files per exec, by the length of their names: the paths travel in the exec URL, which proxies
 * in front of API servers commonly cap at 8 KiB.
 */
export function batches(entries: ManifestEntry[], maxArgBytes = 6000): ManifestEntry[][] {
  const out: ManifestEntry[][] = [];
  let current: ManifestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = encodeURIComponent(`./${entry.path}`).length + '&command='.length;
    if (current.length && bytes + size > maxArgBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * Reads a tar stream of the batch's files (tar-stream's extract, streaming): each file goes to
 * its .keystone-part, hashed on the way, and is renamed only when its size and SHA-256 match.
 * Entries that were not asked for, or are not regular files, are skipped.
 */
async function receiveBatch(
  dest: GuardedDir,
  root: string,
  batch: ManifestEntry[],
  send: (out: Writable) => Promise<{ exitCode: number }>,
): Promise<{ exitCode: number; intact: Set<string> }> {
  const wanted = new Map(batch.map((e) => [e.path, e]));
  const intact = new Set<string>();
  const tar = extract();
  const reading = (async () => {
    for await (const entry of tar) {
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      const want = wanted.get(name);
      if (!want || entry.header.type !== 'file') {
        for await (const _ of entry) void _; // drained: the next entry follows it
        continue;
      }
      const target = targetOf(root, name);
      await dest.mkdir(dirname(target), 0o755);
      const part = target + partSuffix;
      const { out, failure } = await partFile(dest, part, 'w');
      const hash = createHash('sha256');
      let bytes = 0;
      try {
        for await (const chunk of entry) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
          if (!out.write(chunk)) await once(out, 'drain');
          failure.throwIfAny();
        }
      } finally {
        // Also when the stream breaks off: what arrived is on disk, and the next fetch resumes it.
        await closed(out);
      }
      failure.throwIfAny();
      // Named through the guard: a symlink put in the way meanwhile, or a file that differs, is refused.
      if (bytes === want.bytes && hash.digest('hex') === want.sha256) {
        await dest.rename(part, target, { sha256: want.sha256 });
        intact.add(name);
      } else await dest.remove(part);
    }
  })().catch((err: unknown) => {
    tar.destroy(err as Error); // the exec stops too: its output fails instead of waiting for a drain
    throw err;
  });
  let result: { exitCode: number };
  try {
    result = await send(tar as unknown as Writable);
  } catch (err) {
    tar.destroy(err as Error);
    await reading.catch(() => undefined); // what arrived whole is kept; a part resumes next time
    throw err;
  }
  tar.end(undefined);
  await reading;
  return { exitCode: result.exitCode, intact };
}

export interface FetchReport {
  files: number;
  transferred: number;
  transferredBytes: number;
  resumed: number;
  unchanged: number;
  totalBytes: number;
  /** Entries that are not regular files (symlinks, pipes): not fetched, and said so. */
  skipped: SkippedEntry[];
}

/**
 * `dest` guards the destination directory (src/guarded-fs.ts): every file lands inside its root (not through a
 * symlink leaving it), and a file already there with other content is never replaced without
 * --force: all of them are named before anything is transferred.
 */
export async function fetchVolumeOutputs(
  client: KubeClient,
  run: VolumeRun,
  destDir: string,
  dest: GuardedDir,
  o: { signal?: AbortSignal; onFile?: (path: string, bytes: number) => void } = {},
): Promise<FetchReport> {
  const remoteDir = `${helperMount}/${volumeRunDir(run.tool, run.runId)}`;
  const root = resolve(destDir);
  return withHelperPod(
    {
      client,
      namespace: run.namespace,
      claim: run.claim,
      purpose: 'fetch',
      runId: run.runId,
      from: run.from,
      signal: o.signal,
    },
    async (pod) => {
      const exec = (command: string[], stdout: Writable, stderr: ReturnType<typeof collectTail>) =>
        execInPod(client, {
          namespace: run.namespace,
          pod,
          container: 'helper',
          command,
          stdout,
          stderr,
          signal: o.signal,
        });

      const manifestErr = collectTail();
      const chunks: Buffer[] = [];
      const manifestOut = new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk), done()) });
      const listed = await exec([...manifestScript, remoteDir], manifestOut, manifestErr);
      if (listed.exitCode !== 0) {
        throw new KeystoneError(
          `cannot list ${shownVolumeDir(run.claim, run.tool, run.runId)}: exit ${listed.exitCode}${manifestErr.text() ? `: ${manifestErr.text()}` : ''}`,
          {
            hint: 'the run directory may have been purged; `keystone jobs` shows the run',
          },
        );
      }
      const listing = Buffer.concat(chunks).toString('utf8');
      const manifest = parseManifest(listing);
      const report: FetchReport = {
        files: manifest.length,
        transferred: 0,
        transferredBytes: 0,
        resumed: 0,
        unchanged: 0,
        totalBytes: manifest.reduce((n, e) => n + e.bytes, 0),
        skipped: skippedIn(listing),
      };

      // What is already here and intact stays; a file with a part continues alone (tail -c +N);
      // the others come in batches, one tar stream each, so a run of thousands of small files
      // costs a few execs, not thousands.
      const whole: ManifestEntry[] = [];
      const single: ManifestEntry[] = [];
      const differing: string[] = [];
      for (const entry of manifest) {
        const target = await dest.inside(targetOf(root, entry.path));
        const here = await dest.compare(target, entry.sha256);
        if (here === 'same') report.unchanged += 1;
        else {
          if (here === 'differs') differing.push(target);
          if ((await sizeOf(target + partSuffix)) > 0) single.push(entry);
          else whole.push(entry);
        }
      }
      dest.refuseOverwrites(differing);
      const arrived = (entry: ManifestEntry) => {
        report.transferred += 1;
        o.onFile?.(entry.path, entry.bytes);
      };
      for (const batch of batches(whole)) {
        const err = collectTail();
        const received = await receiveBatch(dest, root, batch, (out) =>
          exec([...tarFiles, remoteDir, ...batch.map((e) => `./${e.path}`)], out, err),
        );
        if (received.exitCode !== 0)
          throw new KeystoneError(
            `reading ${batch.length} file${batch.length === 1 ? '' : 's'} from the volume failed: tar exited with ${received.exitCode}${err.text() ? `: ${err.text()}` : ''}`,
          );
        for (const entry of batch) {
          if (received.intact.has(entry.path)) {
            report.transferredBytes += entry.bytes;
            arrived(entry);
          } else single.push(entry); // changed while read, or not in the stream: once more, alone
        }
      }
      for (const entry of single) {
        const target = targetOf(root, entry.path);
        await dest.mkdir(dirname(target), 0o755);
        const part = target + partSuffix;
        // A part longer than the file cannot be a prefix of it: start again.
        let offset = await sizeOf(part);
        if (offset > entry.bytes) {
          await dest.remove(part);
          offset = 0;
        }
        for (let attempt = 0; ; attempt++) {
          if (offset > 0) report.resumed += 1;
          if (offset < entry.bytes || entry.bytes === 0) {
            const { out, failure } = await partFile(dest, part, offset > 0 ? 'a' : 'w');
            const err = collectTail();
            // tail -c +N: from byte N (1-based), POSIX; the paths are arguments, never script text.
            const got = await exec(
              [
                'sh',
                '-c',
                'cd -- "$1" && exec tail -c +"$3" -- "$2"',
                'keystone-fetch',
                remoteDir,
                `./${entry.path}`,
                String(offset + 1),
              ],
              out,
              err,
            ).finally(() => closed(out));
            failure.throwIfAny();
            if (got.exitCode !== 0)
              throw new KeystoneError(
                `reading ${entry.path} from the volume failed: exit ${got.exitCode}${err.text() ? `: ${err.text()}` : ''}`,
              );
            report.transferredBytes += entry.bytes - offset;
          }
          const got = await localDigest(part);
          if (got && got.bytes === entry.bytes && got.sha256 === entry.sha256) break;
          // A part from an older version of the file, or a file that changed while it was read.
          await dest.remove(part);
          if (attempt > 0 || offset === 0) {
            throw new KeystoneError(
              `${entry.path} did not arrive intact (expected ${entry.bytes} bytes, sha256 ${entry.sha256}; got ${got?.bytes ?? 0} bytes${got ? `, sha256 ${got.sha256}` : ''})`,
              {
                hint: 'is the run still writing it? fetch again once it has finished',
              },
            );
          }
          offset = 0;
        }
        await dest.rename(part, target, { sha256: entry.sha256 });
        arrived(entry);
      }
      return report;
    },
  );
}
