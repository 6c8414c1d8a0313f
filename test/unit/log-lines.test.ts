import { describe, expect, it } from 'vitest';
import { LineSplitter, sanitize } from '../../src/operate/log-lines.js';

function split(chunks: (string | Uint8Array)[], blocks = false): string[] {
  const lines: string[] = [];
  // With `blocks`, whole lines come as blocks where they can: read back, the same lines.
  const splitter = new LineSplitter(
    (line) => lines.push(line),
    blocks ? (block) => lines.push(...block.split('\n')) : undefined,
  );
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
  splitter.end();
  return lines;
}

describe('log lines', () => {
  it('cuts whole lines across chunks, keeps the last unterminated one, and drops nothing', () => {
    expect(split(['a\nb', 'c\n\nd', 'e\nf'])).toEqual(['a', 'bc', '', 'de', 'f']);
    expect(split(['one\n', 'two\n'])).toEqual(['one', 'two']);
    expect(split(['', 'x', '', '\n'])).toEqual(['x']);
    const many = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
    expect(split([many.join('\n').slice(0, 3000), many.join('\n').slice(3000)])).toEqual(many);
  });

  it('decodes UTF-8 split between chunks, and invalid bytes as U+FFFD', () => {
    const bytes = new TextEncoder().encode('héllo ✓\n');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2, 8), bytes.subarray(8)])).toEqual(['héllo ✓']);
    expect(split([new Uint8Array([0x61, 0xff, 0x62, 0x0a])])).toEqual(['a\ufffdb']);
  });

  it('drops a trailing CR, keeps tabs and colour escapes, and replaces the other controls', () => {
    expect(split(['dos line\r\nnext\r\n'])).toEqual(['dos line', 'next']);
    expect(sanitize('a\tb \u001b[31mred\u001b[0m')).toBe('a\tb \u001b[31mred\u001b[0m');
    expect(sanitize('bell\u0007 nul\u0000 del\u007f cr\rmid\r')).toBe('bell\ufffd nul\ufffd del\ufffd cr\ufffdmid');
    expect(sanitize('two\u0008\u0008')).toBe('two\ufffd\ufffd');
  });
});

describe('log lines in blocks (a sink that prints them as they came)', () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  /** The text cut into chunks at every `step`th byte (multi-byte characters cut too). */
  const chunked = (text: string, step: number) => {
    const bytes = encode(text);
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += step) out.push(bytes.subarray(at, at + step));
    return out;
  };

  it('gives the same lines as one by one, wherever the chunks are cut', () => {
    const text = [
      'plain',
      '',
      'héllo ✓ 日本',
      'tab\there \u001b[32mgreen\u001b[0m',
      'bell\u0007 here',
      'dos\r',
      'x'.repeat(5000),
      'last without newline',
    ].join('\n');
    for (const step of [1, 2, 3, 7, 64, 1000, 100_000]) {
      expect(split(chunked(text, step), true), `chunks of ${step}`).toEqual(split(chunked(text, step)));
    }
    expect(split(chunked(text, 5), true)).toContain('bell\ufffd here');
    expect(split(chunked(text, 5), true)).toContain('dos');
  });

  it('a clean chunk of whole lines is one block; a chunk with a control character goes line by line', () => {
    const seen: string[] = [];
    const splitter = new LineSplitter(
      (line) => seen.push(`line:${line}`),
      (block) => seen.push(`block:${block}`),
    );
    splitter.push(encode('a\nb\nc'));
    splitter.push(encode('d\ne\u0007\nf\n'));
    splitter.push(encode('\n'));
    splitter.end();
    expect(seen).toEqual(['block:a\nb', 'line:cd', 'line:e\ufffd', 'line:f', 'block:']);
  });
});

describe('log lines: UTF-8 decoded chunk by chunk as a streaming decoder would', () => {
  // Valid text, a BOM at the start and one inside, a 4-byte character, and invalid sequences:
  // a lone continuation byte, an overlong start (E0 80), a code point past U+10FFFF (F4 90), C0, FF.
  const bytes = new Uint8Array([
    ...new TextEncoder().encode('\ufeffstart ✓ 😀 日本\n\ufeffmid\n'),
    0x61,
    0x80,
    0x62,
    0x0a,
    0xe0,
    0x80,
    0x63,
    0x0a,
    0xf4,
    0x90,
    0x80,
    0x80,
    0x0a,
    0xc0,
    0xff,
    0x64,
    0x0a,
    ...new TextEncoder().encode('end 😀'),
  ]);
  /** What WHATWG's decoder makes of the whole stream at once (TextDecoder's default: the first BOM dropped). */
  const expected = new TextDecoder().decode(bytes).split('\n');

  it('gives the lines of the whole stream decoded at once, wherever the chunks are cut', () => {
    for (let step = 1; step <= 9; step++) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; at += step) chunks.push(bytes.subarray(at, at + step));
      expect(split(chunks), `chunks of ${step}`).toEqual(expected);
      expect(split(chunks, true), `chunks of ${step}, blocks`).toEqual(expected);
    }
    expect(expected[0]).toBe('start ✓ 😀 日本');
    expect(expected[1]).toBe('\ufeffmid');
  });

  it('a character cut off by the end of the stream is U+FFFD', () => {
    const emoji = new TextEncoder().encode('x😀');
    expect(split([emoji.subarray(0, 3)])).toEqual(['x\ufffd']);
  });
});

describe('which characters are made harmless', () => {
  it('every C0 control but tab, newline and ESC, and DEL; no other UTF-16 code unit', () => {
    const replaced: number[] = [];
    for (let c = 0; c <= 0xffff; c++)
      if (sanitize(`a${String.fromCharCode(c)}b`) !== `a${String.fromCharCode(c)}b`) replaced.push(c);
    const expected = [
      ...Array.from({ length: 0x20 }, (_, c) => c).filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x1b),
      0x7f,
    ];
    expect(replaced).toEqual(expected);
  });
});
