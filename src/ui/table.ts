/**
 * Left-aligned text columns, like kubectl's tabwriter output, measured in terminal cells:
 * colour codes take none and wide characters (CJK, most emoji) take two (string-width, the
 * measure ora and other terminal tools use). Given a terminal width, lines are cut with "…"
 * instead of wrapping into a mess.
 */
import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';

const graphemes = new Intl.Segmenter();

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], maxWidth?: number): string {
  const widths = headers.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    fit(
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - stringWidth(cell)))))
        .join('   ')
        .trimEnd(),
      maxWidth,
    );
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Cuts a line to the terminal width (colour codes dropped from a cut line, so none is left open). */
export function fit(line: string, maxWidth: number | undefined): string {
  if (maxWidth === undefined || maxWidth < 10 || stringWidth(line) <= maxWidth) return line;
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(stripVTControlCharacters(line))) {
    const cells = stringWidth(segment);
    if (used + cells > maxWidth - 1) break;
    kept += segment;
    used += cells;
  }
  return `${kept}…`;
}
