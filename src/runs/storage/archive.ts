/**
 * A run's input as a tar stream, laid out as stageOnHost lays out a run directory (one copy per
 * sweep index with its params.env, sweep.json, and the run's own copy in .keystone/input/), for `tar -x` in a helper pod. Files are read
 * as the archive is sent (tar-stream: a well-kept streaming tar writer, no file held in memory).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import type { ResolvedInput } from '../request/input.js';
import { envFile, type Sweep } from '../request/options.js';
import { recordInputDir } from '../record/record.js';

/**
 * GNU tar's record: 20 blocks of 512 bytes. Reading stdin, GNU tar fills whole records before it
 * looks at them (--read-full-records is its default for stdin), so an archive that stops short
 * of a record boundary leaves it waiting for bytes that never come: writers pad to a record,
 * as tar itself does. Over exec's v4 protocol, which cannot close stdin, tar stopping at the
 * end-of-archive blocks is what ends the command.
 */
export const tarRecordBytes = 10240;

/** The stream, padded with zeros to a whole tar record. */
export function recordPadded(source: AsyncIterable<unknown>): Readable {
  async function* padded() {
    let bytes = 0;
    for await (const item of source) {
      const chunk = item as Uint8Array;
      bytes += chunk.byteLength;
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    const rest = (tarRecordBytes - (bytes % tarRecordBytes)) % tarRecordBytes;
    if (rest) yield Buffer.alloc(rest);
  }
  return Readable.from(padded(), { objectMode: false });
}

/** The archive of a run directory's initial contents. */
export function inputArchive(input: ResolvedInput, sweep: Sweep | undefined): Readable {
  const tar = pack();
  const fill = async () => {
    const mtime = new Date();
    const prefixes = sweep ? sweep.combinations.map((_, i) => `${i}/`) : [''];
    // Last, the run's own copy of its input as submitted (`jobs rerun` starts from it).
    prefixes.push(`${recordInputDir}/`);
    for (const [i, prefix] of prefixes.entries()) {
      for (const file of input.files) {
        // A staged input is never writable by others; executables (a case's Allrun) stay executable.
        const mode = (await stat(file.absolutePath)).mode & 0o755;
        let entry!: ReturnType<typeof tar.entry>;
        const done = new Promise<void>((ok, fail) => {
          entry = tar.entry({ name: `${prefix}${file.relativePath}`, size: file.bytes, mode, mtime }, (err) =>
            err ? fail(err) : ok(),
          );
        });
        // Awaited below; an archive abandoned mid-file (the upload failed) must not leave it unhandled.
        done.catch(() => undefined);
        for await (const chunk of createReadStream(file.absolutePath)) {
          if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
        }
        entry.end(undefined);
        await done;
      }
      if (sweep && i < sweep.combinations.length)
        tar.entry({ name: `${prefix}params.env`, mode: 0o644, mtime }, envFile(sweep.combinations[i]!));
    }
    if (sweep) tar.entry({ name: 'sweep.json', mode: 0o644, mtime }, `${JSON.stringify(sweep, null, 2)}\n`);
    tar.finalize();
  };
  fill().catch((err: unknown) => tar.destroy(err as Error));
  return recordPadded(tar);
}
