import { describe, expect, it } from 'vitest';
import { CapturedStream } from '../helpers/harness.js';
import { Ui } from '../../src/ui/ui.js';
import { LineWriter } from '../../src/ui/line-writer.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the log line writer', () => {
  it('writes every line, empty ones included, in order, in one write per turn', async () => {
    const stdout = new CapturedStream();
    let writes = 0;
    const write = stdout.write.bind(stdout);
    stdout.write = ((chunk: string) => {
      writes++;
      return write(chunk);
    }) as typeof stdout.write;
    const out = new LineWriter(
      new Ui({ stdout, stderr: new CapturedStream() }, { quiet: false, verbose: false, env: {} }),
    );
    for (const line of ['one', '', 'two', '', '']) out.line(line);
    await tick();
    expect(writes).toBe(1);
    out.line('');
    out.flush();
    expect(stdout.text).toBe('one\n\ntwo\n\n\n\n');
  });

  it('gives every waiting stream the same promise of room, resolved when stdout drains', async () => {
    class Slow extends CapturedStream {
      override _write(chunk: Buffer | string, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
        setTimeout(() => super._write(chunk, encoding, done), 5);
      }
    }
    const stdout = new Slow(false, { highWaterMark: 16 });
    const out = new LineWriter(
      new Ui({ stdout, stderr: new CapturedStream() }, { quiet: false, verbose: false, env: {} }),
    );
    expect(out.ready()).toBeUndefined();
    out.line('x'.repeat(100));
    out.flush();
    const waits = Array.from({ length: 20 }, () => out.ready());
    expect(new Set(waits).size).toBe(1);
    expect(waits[0]).toBeInstanceOf(Promise);
    // One listener however many streams wait (Node warns past 10 on one event).
    expect(stdout.listenerCount('drain')).toBe(1);
    await waits[0];
    expect(out.ready()).toBeUndefined();
    expect(stdout.listenerCount('drain')).toBe(0);
  });
});
