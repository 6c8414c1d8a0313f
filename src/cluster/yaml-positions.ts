/** YAML parsing that keeps line and column, so errors can point at file:line:col. */
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import { KeystoneError } from '../errors.js';

/** Line and column (1-based) of an offset in the parsed text. */
export type PositionOf = (offset: number) => { line: number; col: number };

/**
 * Parses one YAML document. `positionOf` maps an offset of `text` to a position in the user's
 * file when the two differ (a config whose environment variables were expanded first).
 */
export function parseYamlDocument(
  text: string,
  path: string,
  positionOf?: PositionOf,
): { doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = positionOf ? positionOf(first.pos[0]) : lineCounter.linePos(first.pos[0]);
    const reason = first.message.split('\n')[0] ?? first.message;
    throw new KeystoneError(`${path}:${pos.line}:${pos.col}: invalid YAML: ${reason}`, {
      hint: 'fix the YAML syntax at that position (indentation, quotes, a missing ":")',
      exitCode: 2,
    });
  }
  return { doc, lineCounter };
}

/** The range of the deepest node that exists along a path, or undefined when none of it is in the file. */
export function rangeOfPath(doc: Document, path: (string | number)[]): [number, number] | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return [node.range[0], node.range[1]];
  }
  return undefined;
}

/** The range of the key that ends the path (an unknown field), or of its nearest ancestor. */
export function rangeOfKey(doc: Document, path: (string | number)[]): [number, number] | undefined {
  const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
    if (pair && isNode(pair.key) && pair.key.range) return [pair.key.range[0], pair.key.range[1]];
  }
  return rangeOfPath(doc, path);
}

const at = (lineCounter: LineCounter, range: [number, number] | undefined): string => {
  if (!range) return '';
  const pos = lineCounter.linePos(range[0]);
  return `:${pos.line}:${pos.col}`;
};

/** ":line:col" of the deepest node that exists along a path, or "" when the path is not in the file. */
export function positionOfPath(doc: Document, lineCounter: LineCounter, path: (string | number)[]): string {
  return at(lineCounter, rangeOfPath(doc, path));
}

/** ":line:col" of the key that ends the path (an unknown field), or of its nearest ancestor. */
export function positionOfKey(doc: Document, lineCounter: LineCounter, path: (string | number)[]): string {
  return at(lineCounter, rangeOfKey(doc, path));
}
