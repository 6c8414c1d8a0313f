/**
 * Bytes from a log stream into whole, printable lines: UTF-8 decoded across chunk boundaries
 * (invalid bytes become U+FFFD), control characters that would move the cursor or clear the
 * screen replaced, and no line length limit (a long line is never cut).
 */
export class LineSplitter {
  private decoder = new TextDecoder('utf-8', { fatal: false });
  private pending = '';

  /**
   * `emitBlock`, if given, takes the whole lines of a chunk that needs no cleaning at once, joined
   * by "\n" (none at the end), instead of one `emit` per line: no string per line to make (and
   * collect) when the lines are printed as they came (docs/performance.md).
   */
  constructor(
    private readonly emit: (line: string) => void,
    private readonly emitBlock?: (lines: string) => void,
  ) {}

  push(chunk: Uint8Array): void {
    // One scan of the text, each line cut from it once, and one copy of the rest kept (not a copy
    // of everything after each line): `keystone logs` splits ~100,000 lines a second.
    const text = this.pending + this.decoder.decode(chunk, { stream: true });
    // One test of the whole text (a CR included), not one per line: most logs have no control
    // characters, and the per-line test was ~15% of `keystone logs`' CPU (docs/performance.md).
    const clean = !control.test(text);
    if (clean && this.emitBlock) {
      const last = text.lastIndexOf('\n');
      if (last >= 0) this.emitBlock(text.slice(0, last));
      this.pending = last >= 0 ? text.slice(last + 1) : text;
      return;
    }
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) >= 0) {
      const line = text.slice(start, newline);
      this.emit(clean ? line : sanitize(line));
      start = newline + 1;
    }
    this.pending = start === 0 ? text : text.slice(start);
  }

  end(): void {
    this.pending += this.decoder.decode();
    if (this.pending !== '') this.emit(sanitize(this.pending));
    this.pending = '';
  }
}

const control = /[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f]/;
const controls = new RegExp(control.source, 'g');

/** Keeps tabs and colour escapes (ESC); replaces the other C0 controls and DEL, and a trailing CR. */
export function sanitize(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  // Most lines have none: one test, and no new string.
  return control.test(text) ? text.replace(controls, '\ufffd') : text;
}
