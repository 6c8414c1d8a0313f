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
    this.pending += this.decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      this.emit(sanitize(this.pending.slice(0, newline)));
      this.pending = this.pending.slice(newline + 1);
    }
  }

  end(): void {
    this.pending += this.decoder.decode();
    if (this.pending !== '') this.emit(sanitize(this.pending));
    this.pending = '';
  }
}

/** Keeps tabs and colour escapes (ESC); replaces the other C0 controls and DEL, and a trailing CR. */
export function sanitize(line: string): string {
  return line.replace(/\r$/, '').replace(/[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f]/g, '\ufffd');
}
