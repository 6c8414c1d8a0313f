/**
 * Bringing a run's outputs from its volume (another cluster) to this machine, through a helper
 * pod: first a manifest computed in the pod (size and SHA-256 of every regular file), then each
 * file that is missing here or different, streamed from `tail -c +N` over pods/exec straight into
 * a file (never held in memory). A file arrives as <name>.keystone-part and is renamed once its
 * size and SHA-256 match the manifest, so an interrupted transfer resumes where it stopped, and a
 * second fetch transfers only what changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Writable } from 'node:stream';
import { KeystoneError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { execInPod } from '../kube/pod-exec.js';
import { volumeRunDir } from '../kube/vocabulary.js';
import { helperMount, withHelperPod } from './volume-helper.js';
import { collectTail } from './volume-upload.js';
import { shownVolumeDir, type VolumeRun } from './volume-outputs.js';

export const partSuffix = '.keystone-part';

export interface ManifestEntry {
  /** Relative to the run directory, "/"-separated. */
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Fixed script; the run directory is "$1". One NUL-terminated record per regular file:
 * "<bytes> <sha256> ./<path>" (NUL, because a file name may hold anything else).
 */
const manifestScript = [
  'sh',
  '-c',
  'cd -- "$1" && find . -type f -exec sh -c \'for f do s=$(wc -c < "$f" | tr -d " ") && h=$(sha256sum < "$f") && printf "%s %s %s\\0" "$s" "${h%% *}" "$f" || exit 1; done\' keystone-manifest {} +',
  'keystone-manifest',
];

/** Parses the manifest; refuses a path that would leave the destination. */
export function parseManifest(text: string): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (const record of text.split('\0')) {
    if (!record) continue;
    const m = /^(\d+) ([0-9a-f]{64}) \.\/(.+)$/s.exec(record);
    if (!m) throw new KeystoneError(`unreadable manifest line from the helper pod: ${JSON.stringify(record.slice(0, 120))}`);
    const path = m[3]!;
    if (path.split('/').some((part) => part === '..' || part === '') || path.includes('\0')) throw new KeystoneError(`refusing the path ${JSON.stringify(path)} from the volume`);
    entries.push({ path, bytes: Number(m[1]), sha256: m[2]! });
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

export interface FetchReport {
  files: number;
  transferred: number;
  transferredBytes: number;
  resumed: number;
  unchanged: number;
  totalBytes: number;
}

export async function fetchVolumeOutputs(
  client: KubeClient,
  run: VolumeRun,
  dest: string,
  o: { signal?: AbortSignal; onFile?: (path: string, bytes: number) => void } = {},
): Promise<FetchReport> {
  const remoteDir = `${helperMount}/${volumeRunDir(run.tool, run.runId)}`;
  const root = resolve(dest);
  return withHelperPod({ client, namespace: run.namespace, claim: run.claim, purpose: 'fetch', runId: run.runId, from: run.from, signal: o.signal }, async (pod) => {
    const exec = (command: string[], stdout: Writable, stderr: ReturnType<typeof collectTail>) =>
      execInPod(client, { namespace: run.namespace, pod, container: 'helper', command, stdout, stderr, signal: o.signal });

    const manifestErr = collectTail();
    const chunks: Buffer[] = [];
    const manifestOut = new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk), done()) });
    const listed = await exec([...manifestScript, remoteDir], manifestOut, manifestErr);
    if (listed.exitCode !== 0) {
      throw new KeystoneError(`cannot list ${shownVolumeDir(run.claim, run.tool, run.runId)}: exit ${listed.exitCode}${manifestErr.text() ? `: ${manifestErr.text()}` : ''}`, {
        hint: 'the run directory may have been purged; `keystone jobs` shows the run',
      });
    }
    const manifest = parseManifest(Buffer.concat(chunks).toString('utf8'));
    const report: FetchReport = { files: manifest.length, transferred: 0, transferredBytes: 0, resumed: 0, unchanged: 0, totalBytes: manifest.reduce((n, e) => n + e.bytes, 0) };

    for (const entry of manifest) {
      const target = join(root, ...entry.path.split('/'));
      if (!target.startsWith(root + sep)) throw new KeystoneError(`refusing the path ${JSON.stringify(entry.path)} from the volume`);
      const here = await localDigest(target);
      if (here && here.bytes === entry.bytes && here.sha256 === entry.sha256) {
        report.unchanged += 1;
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      const part = target + partSuffix;
      // A part longer than the file cannot be a prefix of it: start again.
      let offset = await sizeOf(part);
      if (offset > entry.bytes) {
        await rm(part, { force: true });
        offset = 0;
      }
      for (let attempt = 0; ; attempt++) {
        if (offset > 0) report.resumed += 1;
        if (offset < entry.bytes || entry.bytes === 0) {
          const out = createWriteStream(part, { flags: offset > 0 ? 'a' : 'w', mode: 0o644 });
          const err = collectTail();
          // tail -c +N: from byte N (1-based), POSIX; the paths are arguments, never script text.
          const got = await exec(['sh', '-c', 'cd -- "$1" && exec tail -c +"$3" -- "$2"', 'keystone-fetch', remoteDir, `./${entry.path}`, String(offset + 1)], out, err).finally(() => out.end());
          if (!out.writableFinished) await once(out, 'finish');
          if (got.exitCode !== 0) throw new KeystoneError(`reading ${entry.path} from the volume failed: exit ${got.exitCode}${err.text() ? `: ${err.text()}` : ''}`);
          report.transferredBytes += entry.bytes - offset;
        }
        const arrived = await localDigest(part);
        if (arrived && arrived.bytes === entry.bytes && arrived.sha256 === entry.sha256) break;
        // A part from an older version of the file, or a file that changed while it was read.
        await rm(part, { force: true });
        if (attempt > 0 || offset === 0) {
          throw new KeystoneError(`${entry.path} did not arrive intact (expected ${entry.bytes} bytes, sha256 ${entry.sha256}; got ${arrived?.bytes ?? 0} bytes${arrived ? `, sha256 ${arrived.sha256}` : ''})`, {
            hint: 'is the run still writing it? fetch again once it has finished',
          });
        }
        offset = 0;
      }
      await rename(part, target);
      report.transferred += 1;
      o.onFile?.(relative(root, target), entry.bytes);
    }
    return report;
  });
}
