/**
 * Lines to stdout in batches: one write per turn of the event loop (or per 64 K characters), not
 * one per line. `keystone logs` of 20 pods wrote ~100,000 lines a second one write each, and
 * whenever the reader lagged Node queued them and sent them as writev calls of thousands of small
 * buffers (docs/performance.md). `ready()` says when stdout has no room, so the log streams stop being
 * read while a slow reader (a pager) catches up, instead of the lines piling up in memory.
 */
import type { Ui } from './ui.js';

/** Where followed logs go (operate/follow-logs.ts writes to one; printLogLines makes one for the terminal). */
export interface LogSink {
  line(prefix: string | undefined, podKey: string, text: string): void;
  /** Several whole lines of one stream at once, joined by "\n" (none at the end); optional. */
  lines?(prefix: string | undefined, podKey: string, block: string): void;
  notice(text: string): void;
  /** When the sink has no room (stdout full), a promise of when it has: the streams wait for it. */
  ready?(): Promise<void> | undefined;
}

const batchChars = 64 * 1024;

export class LineWriter {
  private pending: string[] = [];
  private size = 0;
  private scheduled: NodeJS.Immediate | undefined;
  private room: Promise<void> | undefined;

  constructor(private readonly ui: Ui) {}

  /** One line, or several joined by "\n", without the newline at the end. */
  line(text: string): void {
    this.pending.push(text);
    this.size += text.length + 1;
    if (this.size >= batchChars) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Writes what is pending now (call it before anything else goes to stdout, and at the end). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.pending.length === 0) return;
    // Every line ends with its own newline: an empty last line too, which ui.data alone would
    // take for the end of the line before it.
    this.pending.push(''); // the last newline, in the same join (no second copy of the text)
    const text = this.pending.join('\n');
    this.pending = [];
    this.size = 0;
    this.ui.data(text);
  }

  /**
   * Undefined while stdout takes more; else a promise of when it has drained (or closed). Every
   * stream that waits gets the same promise: one listener each on stdout, however many pods.
   */
  ready(): Promise<void> | undefined {
    const out = this.ui.streams.stdout;
    if (this.ui.stdoutClosed || !out.writableNeedDrain) return undefined;
    this.room ??= new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('close', done);
        out.off('error', done);
        this.room = undefined;
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
      out.on('error', done);
    });
    return this.room;
  }
}

type Format = (prefix: string | undefined, key: string, text: string) => string;

/**
 * Runs a log follow whose lines are printed through a LineWriter, formatted by `format` (and
 * blocks of lines by `formatBlock`, if given): lines batched, a notice (on stderr) after the lines
 * before it, the log streams waiting while stdout is full, and every line written by the time it
 * returns, whether the follow ended or failed.
 */
export async function printLogLines(
  ui: Ui,
  format: Format,
  follow: (sink: LogSink) => Promise<void>,
  formatBlock?: Format,
): Promise<void> {
  const out = new LineWriter(ui);
  try {
    await follow({
      line: (prefix, key, text) => out.line(format(prefix, key, text)),
      ...(formatBlock
        ? {
            lines: (prefix: string | undefined, key: string, block: string) =>
              out.line(formatBlock(prefix, key, block)),
          }
        : {}),
      notice: (text) => {
        out.flush(); // the lines before it first
        ui.warn(text);
      },
      ready: () => out.ready(),
    });
  } finally {
    out.flush();
  }
}
