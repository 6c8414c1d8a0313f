import { describe, expect, it } from 'vitest';
import { LineSplitter, sanitize } from '../../src/operate/log-lines.js';

function split(chunks: (string | Uint8Array)[]): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
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
