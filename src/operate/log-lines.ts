/**
 * Bytes from a log stream into whole, printable lines: UTF-8 decoded across chunk boundaries
 * (invalid bytes become U+FFFD), control characters that would move the cursor or clear the
 * screen replaced, and no line length limit (a long line is never cut).
 */
export class LineSplitter {
  private decoder = new TextDecoder('utf-8', { fatal: false });
  private pending = '';

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    // One scan of the text, each line cut from it once, and one copy of the rest kept (not a copy
    // of everything after each line): `keystone logs` splits ~100,000 lines a second.
    const text = this.pending + this.decoder.decode(chunk, { stream: true });
    // One test of the whole text (a CR included), not one per line: most logs have no control
    // characters, and the per-line test was ~15% of `keystone logs`' CPU (docs/performance.md).
    const clean = !control.test(text);
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
