/**
 * Left-aligned text columns, like kubectl's tabwriter output, measured in terminal cells:
 * colour codes take none and wide characters (CJK, most emoji) take two (string-width, the
 * measure ora and other terminal tools use). Given a terminal width, lines are cut with "…"
 * instead of wrapping into a mess.
 *
 * Cells are nearly always printable ASCII (names, phases, ages), whose width is their length.
 * string-width is loaded only for a table with another character in it: its module body alone
 * (the `\p{RGI_Emoji}` expression with the v flag, an Intl.Segmenter) cost every table command
 * ~38 ms of CPU (docs/performance.md, fifth pass).
 */
import { stripVTControlCharacters } from 'node:util';
import type stringWidthFunction from 'string-width';

type Measure = (text: string) => number;

const printableAscii = /^[\x20-\x7e]*$/;
const plain = (text: string) =>
  text.includes('\x1b') || text.includes('\x9b') ? stripVTControlCharacters(text) : text;

/** The width of text that is printable ASCII once colour codes are dropped, else undefined. */
export function asciiWidth(text: string): number | undefined {
  const shown = plain(text);
  return printableAscii.test(shown) ? shown.length : undefined;
}

let wide: Measure | undefined;
/**
 * string-width, loaded the first time a cell is not ASCII. A require(), not an import: the
 * tables are printed synchronously (one `events -f` line at a time, in order), and esbuild
 * bundles a required ES module to run its body on that first call (scripts/build.mjs).
 */
function wideMeasure(): Measure {
  wide ??= (require('string-width') as { default: typeof stringWidthFunction }).default;
  return wide;
}

/** Cells in terminal columns: string-width's measure, without loading it for ASCII text. */
export function cellWidth(text: string): number {
  return asciiWidth(text) ?? wideMeasure()(text);
}

export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  maxWidth?: number,
): string {
  const widths = headers.map((h, i) => Math.max(cellWidth(h), ...rows.map((r) => cellWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    fit(
      cells
        .map((cell, i) =>
          i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - cellWidth(cell))),
        )
        .join('   ')
        .trimEnd(),
      maxWidth,
    );
  return [line(headers), ...rows.map(line)].join('\n');
}

let graphemes: Intl.Segmenter | undefined;

/** Cuts a line to the terminal width (colour codes dropped from a cut line, so none is left open). */
export function fit(line: string, maxWidth: number | undefined): string {
  if (maxWidth === undefined || maxWidth < 10 || cellWidth(line) <= maxWidth) return line;
  const shown = plain(line);
  if (printableAscii.test(shown)) return `${shown.slice(0, maxWidth - 1)}…`;
  let kept = '';
  let used = 0;
  graphemes ??= new Intl.Segmenter();
  for (const { segment } of graphemes.segment(shown)) {
    const cells = cellWidth(segment);
    if (used + cells > maxWidth - 1) break;
    kept += segment;
    used += cells;
  }
  return `${kept}…`;
}
