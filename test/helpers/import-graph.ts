/**
 * The import graph of src/ and the two rules docs/architecture.md states for it: no import circle,
 * and no import that runs up the layer list. Imports are read by TypeScript's own pre-processor
 * (ts.preProcessFile: `import … from`, `export … from`, `import '…'` and dynamic `import('…')`,
 * comments and strings skipped), so an import the compiler sees is never missed. TypeScript 7, which
 * type-checks the tree, is the native compiler and has no JavaScript API yet, so this reads through
 * TypeScript 5 (devDependency `typescript5`, an npm alias of typescript@5).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import ts from 'typescript5';

/** File (relative to src/, with '/') → the src/ files it imports. */
export type ImportGraph = Map<string, string[]>;

const sourceFile = (name: string) => /\.(ts|js|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts');

/** Reads every source file under srcDir; a relative import of a file that is not there is an error. */
export function readImportGraph(srcDir: string): ImportGraph {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (sourceFile(entry.name)) files.push(relative(srcDir, path).split('\\').join('/'));
    }
  };
  walk(srcDir);
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const file of files.sort()) {
    const text = readFileSync(join(srcDir, file), 'utf8');
    const specifiers = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    const targets: string[] = [];
    for (const spec of specifiers) {
      if (!spec.startsWith('.')) continue; // a package or node: builtin
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      // ESM imports name the emitted .js; the source is the .ts beside it (or the .js itself).
      const found = [target.replace(/\.js$/, '.ts'), target].find((t) => known.has(t));
      if (!found) throw new Error(`${file} imports ${spec}, which is not a file under src/`);
      targets.push(found);
    }
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The layer list between the import-layers markers: one array of entries per line, top first. */
export function parseLayers(markdown: string): string[][] {
  const block = /<!-- import-layers:begin -->\s*```text\n([\s\S]*?)```\s*<!-- import-layers:end -->/.exec(markdown);
  if (!block) throw new Error('no import-layers block in the document');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => line.split(/\s+/));
}

/** The line a file is on: the longest entry naming it (runs/follow/ before a runs/ line), or undefined. */
export function layerOf(file: string, layers: string[][]): number | undefined {
  let best: { index: number; length: number } | undefined;
  layers.forEach((entries, index) => {
    for (const entry of entries) {
      const matches = entry.endsWith('/') ? file.startsWith(entry) : file === entry;
      if (matches && (!best || entry.length > best.length)) best = { index, length: entry.length };
    }
  });
  return best?.index;
}

/** Files on no line of the list. */
export function unplacedFiles(graph: ImportGraph, layers: string[][]): string[] {
  return [...graph.keys()].filter((f) => layerOf(f, layers) === undefined);
}

/** Imports from a file to one on a line above its own, as "from -> to". */
export function upwardImports(graph: ImportGraph, layers: string[][]): string[] {
  const up: string[] = [];
  for (const [from, targets] of graph) {
    const own = layerOf(from, layers);
    for (const to of targets) {
      const theirs = layerOf(to, layers);
      if (own !== undefined && theirs !== undefined && theirs < own) up.push(`${from} -> ${to}`);
    }
  }
  return up.sort();
}

/**
 * Every import circle, as the files of one strongly connected component in the order one cycle
 * through them visits (Tarjan's algorithm; a file importing itself is a circle of one).
 */
export function importCircles(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v))
        circles.push(cycleThrough(graph, new Set(component), v));
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return circles;
}

/** One cycle inside a component, from its first file back to it: "a -> b -> c -> a" reads as an error. */
function cycleThrough(graph: ImportGraph, component: Set<string>, start: string): string[] {
  // Breadth-first from start to start, staying inside the component.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * docs/layers.md: the layer list as a Mermaid flowchart, top layer first, an arrow from a layer to
 * each one it imports from directly (an arrow implied by two others is left out, so the picture
 * stays readable), with how many imports it stands for.
 */
export function layerDiagram(graph: ImportGraph, layers: string[][]): string {
  const counts = new Map<string, number>();
  for (const [from, targets] of graph) {
    const a = layerOf(from, layers);
    for (const to of targets) {
      const b = layerOf(to, layers);
      if (a === undefined || b === undefined || a === b) continue;
      counts.set(`${a} ${b}`, (counts.get(`${a} ${b}`) ?? 0) + 1);
    }
  }
  const edges = [...counts.keys()].map((k) => k.split(' ').map(Number) as [number, number]);
  const reaches = (from: number, to: number, skip: string): boolean => {
    const seen = new Set<number>([from]);
    const queue = [from];
    while (queue.length) {
      const v = queue.shift()!;
      for (const [a, b] of edges) {
        if (a !== v || `${a} ${b}` === skip || seen.has(b)) continue;
        if (b === to) return true;
        seen.add(b);
        queue.push(b);
      }
    }
    return false;
  };
  const direct = edges.filter(([a, b]) => !reaches(a, b, `${a} ${b}`)).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const lines = [
    '# The layers of src/',
    '',
    'Generated from [the layer list](architecture.md#the-layer-list) and the imports of `src/` by',
    '`test/unit/import-layers.test.ts` (`npx vitest run test/unit/import-layers.test.ts -u` rewrites it;',
    'the test fails while it is out of date). An arrow goes from a layer to one it imports from,',
    'labelled with the number of imports; arrows implied by two others are left out. Imports only go',
    'down.',
    '',
    '```mermaid',
    'flowchart TD',
    ...layers.map((entries, i) => `  L${i}["${entries.join('<br>')}"]`),
    ...direct.map(([a, b]) => `  L${a} -->|${counts.get(`${a} ${b}`)}| L${b}`),
    '```',
    '',
  ];
  return lines.join('\n');
}
