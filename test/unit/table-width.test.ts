import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { asciiWidth, cellWidth, fit } from '../../src/ui/table.js';

// The ASCII fast path of src/ui/table.ts must measure exactly as string-width does.
const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
const corpus = [
  '',
  'celery-worker-4fe6a4d4a9-00002',
  'NAME   READY   STATUS',
  ' ~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./ ',
  red('CrashLoopBackOff'),
  `\x9b31m${'x'}`,
  'tab\there',
  'new\nline',
  '\x7f delete',
  'caf\u00e9',
  '計算-ジョブ',
  'データ',
  '👩‍🔬 run',
  '1\u20e3',
  red('計算'),
  'e\u0301',
];

describe('table cell widths', () => {
  it('measure every string as string-width does, ASCII or not, coloured or not', () => {
    for (const text of corpus) expect(cellWidth(text), JSON.stringify(text)).toBe(stringWidth(text));
  });

  it('take the fast path only for printable ASCII (colour codes dropped)', () => {
    expect(asciiWidth(red('CrashLoopBackOff'))).toBe(16);
    expect(asciiWidth('NAME   READY')).toBe(12);
    for (const text of ['tab\there', 'new\nline', 'caf\u00e9', '計算', '\x7f'])
      expect(asciiWidth(text), JSON.stringify(text)).toBeUndefined();
  });

  it('cut an ASCII line as the grapheme walk does: maxWidth - 1 characters and …, colours dropped', () => {
    const line = `celery-worker-x7k2p   ${red('CrashLoopBackOff')}   back-off 40s restarting failed container`;
    const cut = fit(line, 40);
    expect(cut).toBe(`${'celery-worker-x7k2p   CrashLoopBackOff   back-off 40s restarting'.slice(0, 39)}…`);
    expect(stringWidth(cut)).toBe(40);
    expect(fit('short', 40)).toBe('short');
    expect(fit('x'.repeat(40), 40)).toBe('x'.repeat(40));
    expect(fit('x'.repeat(41), 40)).toBe(`${'x'.repeat(39)}…`);
  });
});
