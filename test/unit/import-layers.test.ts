// src/ keeps the shape docs/architecture.md draws: no import circle, and every import goes down
// the layer list written there (the list is read from the document, so the two cannot differ).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  importCircles,
  layerDiagram,
  layerOf,
  parseLayers,
  readImportGraph,
  unplacedFiles,
  upwardImports,
  type ImportGraph,
} from '../helpers/import-graph.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const layers = parseLayers(readFileSync(`${repo}docs/architecture.md`, 'utf8'));
const graph = readImportGraph(`${repo}src`);

describe('the import graph of src/', () => {
  it('has no import circle', () => {
    expect(importCircles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('places every file on one line of the layer list in docs/architecture.md', () => {
    expect(unplacedFiles(graph, layers)).toEqual([]);
  });

  it('imports only down the layer list (so the AppContext stops at the commands: no domain module imports it)', () => {
    expect(upwardImports(graph, layers)).toEqual([]);
  });

  it('keeps the run model at the bottom of the runs domain: runs/model.ts imports no other runs/ module', () => {
    expect(graph.get('runs/model.ts')!.filter((t) => t.startsWith('runs/'))).toEqual([]);
  });

  it('is drawn in docs/layers.md as it is', async () => {
    await expect(layerDiagram(graph, layers)).toMatchFileSnapshot('../../docs/layers.md');
  });

  it('reads dynamic import() as an import (cli.ts loads each command that way)', () => {
    expect(graph.get('cli.ts')).toContain('commands/jobs.ts');
  });
});

describe('the checks themselves', () => {
  const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  it('find a circle of three files and name it in order', () => {
    const circles = importCircles(g({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['a.ts'] }));
    expect(circles).toHaveLength(1);
    const [cycle] = circles;
    expect(cycle![0]).toBe(cycle![cycle!.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['a.ts', 'b.ts', 'c.ts']));
  });

  it('find a file importing itself, and nothing in a graph without circles', () => {
    expect(importCircles(g({ 'a.ts': ['a.ts'] }))).toEqual([['a.ts', 'a.ts']]);
    expect(importCircles(g({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['c.ts'], 'c.ts': [] }))).toEqual([]);
  });

  it('find an import up the list, allow one down or within a line, and place a file by its longest entry', () => {
    const list = parseLayers(
      '<!-- import-layers:begin -->\n```text\ntop.ts   # entry\nruns/follow/ other/\nruns/   # the rest\n```\n<!-- import-layers:end -->',
    );
    expect(list).toEqual([['top.ts'], ['runs/follow/', 'other/'], ['runs/']]);
    expect(layerOf('runs/follow/x.ts', list)).toBe(1);
    expect(layerOf('runs/model.ts', list)).toBe(2);
    expect(layerOf('elsewhere.ts', list)).toBeUndefined();
    const edges = g({
      'top.ts': ['runs/model.ts'],
      'runs/follow/x.ts': ['other/y.ts', 'runs/model.ts'],
      'runs/model.ts': ['runs/follow/x.ts', 'top.ts'],
      'elsewhere.ts': [],
    });
    expect(upwardImports(edges, list)).toEqual(['runs/model.ts -> runs/follow/x.ts', 'runs/model.ts -> top.ts']);
    expect(unplacedFiles(edges, list)).toEqual(['elsewhere.ts']);
  });
});
