// data/fenicsx/poisson.py uses only the DOLFINx API of the version the image pins (0.9.0; the
// names come from that tag's sources: test/fixtures/dolfinx-0.9.0-api.json). The engines test
// runs the script for real; this check needs no DOLFINx.
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const api = JSON.parse(await readFile(join(root, 'test', 'fixtures', 'dolfinx-0.9.0-api.json'), 'utf8')) as Record<
  string,
  string[]
>;
const script = await readFile(join(root, 'data', 'fenicsx', 'poisson.py'), 'utf8');
const code = script.replace(/^"""[\s\S]*?"""/, '').replace(/#.*$/gm, '');

describe('poisson.py and the DOLFINx 0.9.0 API', () => {
  it('imports only names DOLFINx 0.9.0 has', () => {
    const imports = [...code.matchAll(/^from (dolfinx(?:\.[\w.]+)?) import ([\w, ]+)$/gm)];
    expect(imports.length).toBeGreaterThan(0);
    for (const [, module, names] of imports) {
      for (const name of names!.split(',').map((n) => n.trim()))
        expect(api[module!], `${module}.${name}`).toContain(name);
    }
  });

  it('uses only attributes of fem, io and mesh that DOLFINx 0.9.0 has', () => {
    const uses = [...code.matchAll(/(?<![\w.])(fem|io|mesh)\.([A-Za-z_]\w*)/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(uses.length).toBeGreaterThan(5);
    for (const [module, name] of uses) expect(api[`dolfinx.${module}`], `dolfinx.${module}.${name}`).toContain(name);
  });

  it('passes LinearProblem only parameters 0.9.0 takes', () => {
    const call = /LinearProblem\(([^)]*\{[^}]*\}[^)]*|[^)]*)\)/.exec(code)?.[1] ?? '';
    const keywords = [...call.matchAll(/\b(\w+)=/g)].map((m) => m[1]!);
    expect(keywords.length).toBeGreaterThan(0);
    for (const k of keywords) expect(api['LinearProblem.__init__'], k).toContain(k);
  });
});
