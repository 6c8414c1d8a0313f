/**
 * THE way data reaches stdout: every byte a command prints as data (ui.data, tables, JSON, help)
 * goes through one sink, which records a write that failed. src/main.ts waits for the sink to
 * settle before it picks the exit code, so a lost output is never a success: a reader that went
 * away (EPIPE) is 141 as for SIGPIPE, any other failed write (a full disk) is 1.
 *
 * Why the write callback and not only the 'error' event: on Linux a pipe write fails at once,
 * but Node emits 'error' on a later tick; a command that printed its table and returned would be
 * done (exit 0) before the event came. The callback of an empty write comes after those of every
 * write before it, so `settled()` sees every failure.
 */
import type { Writable } from 'node:stream';

export class OutputSink {
  /** The first failed write's error, once one failed: later data is dropped. */
  failure: NodeJS.ErrnoException | undefined;
  private readonly listeners: ((err: NodeJS.ErrnoException) => void)[] = [];

  constructor(readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
  }

  /** Whether data was lost (the write failed). */
  get lost(): boolean {
    return this.failure !== undefined;
  }

  /** The reader went away (EPIPE): the quiet case, as `yes | head -1`. */
  get readerGone(): boolean {
    return this.failure?.code === 'EPIPE';
  }

  write(text: string): void {
    if (this.lost) return;
    this.stream.write(text, (err) => {
      if (err) this.fail(err);
    });
  }

  /** Called once, at the first failed write. */
  onLost(listener: (err: NodeJS.ErrnoException) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once everything written so far has been handed to the OS, or has failed. */
  settled(): Promise<void> {
    if (this.lost || this.stream.destroyed || this.stream.writableEnded) return Promise.resolve();
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }

  private fail(err: NodeJS.ErrnoException): void {
    // Writes after the first failure fail again (ERR_STREAM_DESTROYED): the first one is the cause.
    if (this.failure) return;
    this.failure = err;
    for (const listener of this.listeners) listener(err);
  }
}
