/**
 * Left-aligned text columns, like kubectl's tabwriter output; colour codes do not count as
 * width. Given a terminal width, lines are cut with "…" instead of wrapping into a mess.
 */
import { stripAnsi } from '../exec/command-line.js';

const width = (text: string) => [...stripAnsi(text)].length;

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], maxWidth?: number): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    fit(
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell)))))
        .join('   ')
        .trimEnd(),
      maxWidth,
    );
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Cuts a line to the terminal width (colour codes dropped from a cut line, so none is left open). */
export function fit(line: string, maxWidth: number | undefined): string {
  if (maxWidth === undefined || maxWidth < 10 || width(line) <= maxWidth) return line;
  return `${[...stripAnsi(line)].slice(0, maxWidth - 1).join('')}…`;
}
