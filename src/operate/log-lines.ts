/**
 * Bytes from a log stream into whole, printable lines: UTF-8 decoded across chunk boundaries
 * (invalid bytes become U+FFFD), control characters that would move the cursor or clear the
 * screen replaced, and no line length limit (a long line is never cut).
 */
/** Decodes whole UTF-8 (a BOM kept: the splitter drops it only at the start of the stream). */
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * How many of the bytes end on a whole character: all, or all but the start of a multi-byte
 * character cut off at the end (at most 3 bytes), which waits for the next chunk. Invalid bytes
 * count as whole: they decode to U+FFFD now, as a streaming decoder would.
 */
function wholeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  let lead = n - 1;
  while (lead >= 0 && n - lead <= 3 && (bytes[lead]! & 0xc0) === 0x80) lead--; // continuation bytes
  if (lead < 0) return n;
  const b = bytes[lead]!;
  const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 1;
  return n - lead < length ? lead : n;
}

export class LineSplitter {
  /** The start of a character cut off at the end of the last chunk. */
  private carry: Uint8Array | undefined;
  private started = false;
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
    const text = this.pending + this.decode(chunk);
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

  /**
   * The chunk's whole characters as text. Not TextDecoder's `stream` option: Node 20 decodes a
   * stream through ICU, ~5 times slower than a whole buffer and into two-byte strings (callgrind:
   * ~10% of `keystone logs`' instructions); a character cut at the end waits for the next chunk.
   */
  private decode(chunk: Uint8Array): string {
    let bytes = chunk;
    if (this.carry) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry);
      bytes.set(chunk, this.carry.length);
    }
    const whole = wholeLength(bytes);
    this.carry = whole < bytes.length ? bytes.slice(whole) : undefined;
    let text = decoder.decode(whole < bytes.length ? bytes.subarray(0, whole) : bytes);
    if (!this.started && text !== '') {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM, at the start of the stream only
    }
    return text;
  }

  end(): void {
    if (this.carry) this.pending += decoder.decode(this.carry); // a character cut off for good: U+FFFD
    this.carry = undefined;
    if (this.pending !== '') this.emit(sanitize(this.pending));
    this.pending = '';
  }
}

// C0 controls but tab, newline and ESC, and DEL: written as what they are not, which V8's regular
// expressions test ~2 times faster over a long text (measured on 32 KiB of log).
const control = /[^\t\n\u001b -~\u0080-\uffff]/;
const controls = new RegExp(control.source, 'g');

/** Keeps tabs and colour escapes (ESC); replaces the other C0 controls and DEL, and a trailing CR. */
export function sanitize(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  // Most lines have none: one test, and no new string.
  return control.test(text) ? text.replace(controls, '\ufffd') : text;
}
