// bin/when-written.cjs: what the launcher waits for before it exits.
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { whenWritten } from '../helpers/harness.js';

/** A reader that takes a while for each chunk, as an asynchronous pipe to a slow reader does. */
function slowSink(highWaterMark: number) {
  const got: string[] = [];
  const sink = new Writable({
    highWaterMark,
    write(chunk, _encoding, done) {
      setTimeout(() => {
        got.push(String(chunk));
        done();
      }, 5);
    },
  });
  return { sink, got };
}

describe('waiting for stdout before exiting', () => {
  it('waits for a short tail still queued, which no drain event would announce', async () => {
    const { sink, got } = slowSink(1024 * 1024);
    expect(sink.write('first\n')).toBe(true);
    sink.write('second\n');
    expect(sink.writableLength).toBeGreaterThan(0);
    expect(sink.writableNeedDrain).toBe(false); // so 'drain' will never be emitted
    await whenWritten([sink]);
    expect(got.join('')).toBe('first\nsecond\n');
  });

  it('also when the reader has gone (a stream that failed)', async () => {
    const { sink } = slowSink(16);
    sink.on('error', () => undefined);
    sink.write('x'.repeat(100));
    sink.destroy(new Error('EPIPE'));
    await whenWritten([sink]); // resolves: the write's callback gets the error
    expect(sink.destroyed).toBe(true);
  });
});
