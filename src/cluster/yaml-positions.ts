/** YAML parsing that keeps line and column, so errors can point at file:line:col. */
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import { KeystoneError } from '../errors.js';

export function parseYamlDocument(text: string, path: string): { doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const reason = first.message.split('\n')[0] ?? first.message;
    throw new KeystoneError(`${path}:${pos.line}:${pos.col}: invalid YAML: ${reason}`, {
      hint: 'fix the YAML syntax at that position (indentation, quotes, a missing ":")',
      exitCode: 2,
    });
  }
  return { doc, lineCounter };
}

/** ":line:col" of the deepest node that exists along a path, or "" when the path is not in the file. */
export function positionOfPath(doc: Document, lineCounter: LineCounter, path: (string | number)[]): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return `:${pos.line}:${pos.col}`;
    }
  }
  return '';
}

/** ":line:col" of the key that ends the path (an unknown field), or of its nearest ancestor. */
export function positionOfKey(doc: Document, lineCounter: LineCounter, path: (string | number)[]): string {
  const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
    if (pair && isNode(pair.key) && pair.key.range) {
      const pos = lineCounter.linePos(pair.key.range[0]);
      return `:${pos.line}:${pos.col}`;
    }
  }
  return positionOfPath(doc, lineCounter, path);
}
