import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { Ui, colorLevel, maskSecrets } from '../../src/ui/ui.js';
import { renderTable } from '../../src/ui/table.js';

function stream(isTTY: boolean, columns?: number) {
  let text = '';
  const s = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  s.isTTY = isTTY;
  s.columns = columns;
  return { s, text: () => text };
}

describe('output modes', () => {
  it('animates only on an interactive terminal: not when piped, not in CI, not with TERM=dumb', () => {
    const tty = stream(true);
    expect(new Ui({ stdout: tty.s, stderr: tty.s }, { quiet: false, verbose: false, env: {} }).interactive).toBe(true);
    expect(
      new Ui({ stdout: tty.s, stderr: tty.s }, { quiet: false, verbose: false, env: { CI: 'true' } }).interactive,
    ).toBe(false);
    expect(
      new Ui({ stdout: tty.s, stderr: tty.s }, { quiet: false, verbose: false, env: { TERM: 'dumb' } }).interactive,
    ).toBe(false);
    const pipe = stream(false);
    expect(new Ui({ stdout: pipe.s, stderr: pipe.s }, { quiet: false, verbose: false, env: {} }).interactive).toBe(
      false,
    );
  });

  it('prints plain step lines without cursor movement when not interactive', () => {
    const err = stream(false);
    let now = 1_000_000;
    const ui = new Ui(
      { stdout: stream(false).s, stderr: err.s },
      { quiet: false, verbose: false, env: {}, clock: { now: () => now } },
    );
    const step = ui.step('cluster');
    step.update('2/5 nodes Ready');
    step.update('2/5 nodes Ready'); // unchanged progress is not repeated
    now += 2_500;
    step.succeed('5/5 nodes Ready');
    expect(err.text()).toBe('• cluster ...\n  cluster: 2/5 nodes Ready\n✓ 5/5 nodes Ready (2.5s)\n');
    expect(err.text()).not.toMatch(/\r|\u001b\[/);
  });

  it('NO_COLOR beats FORCE_COLOR beats the terminal', () => {
    expect(colorLevel({ NO_COLOR: '1', FORCE_COLOR: '1' }, true)).toBe(0);
    expect(colorLevel({ FORCE_COLOR: '1' }, false)).toBe(1);
    expect(colorLevel({}, false)).toBe(0);
    expect(colorLevel({}, true)).toBe(1);
  });

  it('decides colour per stream: stdout redirected to a file gets none while stderr is a terminal', () => {
    const ui = new Ui({ stdout: stream(false).s, stderr: stream(true).s }, { quiet: false, verbose: false, env: {} });
    expect(ui.color.level).toBe(0);
    expect(ui.errColor.level).toBe(1);
    const flipped = new Ui(
      { stdout: stream(true).s, stderr: stream(false).s },
      { quiet: false, verbose: false, env: {} },
    );
    expect(flipped.color.level).toBe(1);
    expect(flipped.errColor.level).toBe(0);
    const err = stream(true);
    const out = stream(false);
    const shown = new Ui({ stdout: out.s, stderr: err.s }, { quiet: false, verbose: false, env: {} });
    shown.data(shown.color.green('ok'));
    shown.error('bad');
    expect(out.text()).toBe('ok\n');
    expect(err.text()).toContain('\u001b[31merror:');
  });

  it('masks credential-looking values in diagnostics', () => {
    expect(maskSecrets('redis-server --requirepass hunter2 token=abc "password": "x1"')).toBe(
      'redis-server --requirepass *** token=*** "password": "***"',
    );
  });
});

describe('tables on a 40-column terminal', () => {
  it('cut lines with … instead of wrapping, and colour codes do not count as width', () => {
    const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
    const text = renderTable(
      ['NAME', 'STATUS', 'MESSAGE'],
      [['celery-worker-x7k2p', red('CrashLoopBackOff'), 'back-off 40s restarting failed container']],
      40,
    );
    const lines = text.split('\n');
    expect(lines.every((l) => [...l].length <= 40)).toBe(true);
    expect(lines[1]).toMatch(/^celery-worker-x7k2p {3}CrashLoop.*…$/);
    expect([...lines[1]!].length).toBe(40);
    expect(lines[1]).not.toMatch(/\u001b/); // a cut line carries no half-open colour
    const wide = renderTable(['A', 'B'], [['x', red('y')]]);
    expect(wide.split('\n')[1]).toBe(`x   ${red('y')}`);
  });
  it('measure wide characters as two cells: columns line up and cut lines fit', () => {
    const text = renderTable(
      ['NAME', 'STATUS'],
      [
        ['計算-ジョブ', 'Running'],
        ['lammps-run', 'Failed'],
      ],
    );
    const [header, wide, narrow] = text.split('\n');
    // '計算-ジョブ' is 6 characters but 11 cells wide: STATUS starts in the same cell on every line.
    expect(header!.indexOf('STATUS')).toBe(11 + 3);
    expect(narrow!.indexOf('Failed')).toBe(11 + 3);
    expect(wide).toBe('計算-ジョブ   Running');
    const cut = renderTable(['NAME'], [['データ'.repeat(10)]], 20).split('\n')[1]!;
    expect(cut).toBe(`${'データ'.repeat(3)}…`); // 18 cells and the ellipsis, not 19 characters (38 cells)
  });
});
