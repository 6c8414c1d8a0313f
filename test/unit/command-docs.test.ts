// Every command is documented: each command of the command table in src/cli.ts has a row in
// README.md's command table, linking to a section of docs/ whose heading names it, so a command
// added without docs (or docs left for a command that is gone) fails here. And every relative link
// in README.md and docs/*.md leads to a file, and a heading, that exists.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from '../helpers/harness.js';
import { tableCommands } from '../helpers/command-sweep.js';

/** The markdown outside fenced code blocks, line by line (a `#` in a shell example is no heading). */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else return !fenced;
    return false;
  });
}

/**
 * A heading's anchor as github.com makes it (html-pipeline's TableOfContentsFilter: lower case,
 * every character but letters, marks, digits, `_`, `-` and space dropped, spaces to `-`, a repeat
 * gets `-1`, `-2`, ...). The heading's text is its markdown with code-span backticks and link
 * targets taken out, as rendered.
 */
function anchors(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6} +(.*?) *#* *$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.set(n === 0 ? base : `${base}-${n}`, heading);
  }
  return found;
}

/** The targets of the markdown links and images outside code. */
function linkTargets(markdown: string): string[] {
  return proseLines(markdown).flatMap((line) =>
    [...line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!),
  );
}

const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
const docs = readdirSync(join(repoRoot, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

interface Row {
  command: string;
  file: string;
  anchor: string;
}

/** The rows of README.md's command table: `| [`keystone X`](docs/FILE.md#ANCHOR) | ... |`. */
function commandRows(): Row[] {
  const section =
    read('README.md')
      .split(/^## /m)
      .find((s) => s.startsWith('Commands\n')) ?? '';
  return section.split('\n').flatMap((line) => {
    const m = /^\| \[`keystone ([^`]+)`\]\(([^)#]*)#([^)]*)\) \|/.exec(line);
    return m ? [{ command: m[1]!, file: m[2]!, anchor: m[3]! }] : [];
  });
}

describe('the command reference', () => {
  it('README.md has a command table row for every command of src/cli.ts, once, and for no other', () => {
    const rows = commandRows().map((r) => r.command);
    expect([...rows].sort()).toEqual([...new Set(tableCommands())].sort());
    expect(rows.length, 'a command listed twice').toBe(new Set(rows).size);
  });

  it('links each row to a section in docs/ whose heading names the command', () => {
    const wrong: string[] = [];
    for (const { command, file, anchor } of commandRows()) {
      if (!file.startsWith('docs/') || !existsSync(join(repoRoot, file))) {
        wrong.push(`${command}: ${file} is not a file in docs/`);
        continue;
      }
      const heading = anchors(read(file)).get(anchor);
      if (heading === undefined) wrong.push(`${command}: ${file} has no heading #${anchor}`);
      else if (!heading.includes(`\`keystone ${command}\``))
        wrong.push(`${command}: the heading "${heading}" (${file}#${anchor}) does not name \`keystone ${command}\``);
    }
    expect(wrong).toEqual([]);
  });

  it('the heading anchors are the ones github.com makes', () => {
    expect([
      ...anchors(
        '## `keystone start`, `keystone stop`, `keystone delete`\n## Running the real engines: `npm run test:engines`\n```sh\n# not a heading\n```\n## Kubeconfig files\n## Kubeconfig files',
      ).keys(),
    ]).toEqual([
      'keystone-start-keystone-stop-keystone-delete',
      'running-the-real-engines-npm-run-testengines',
      'kubeconfig-files',
      'kubeconfig-files-1',
    ]);
  });
});

describe('the links of README.md and docs/', () => {
  it('every relative link leads to a file that exists and, with #anchor, to a heading in it', () => {
    const broken: string[] = [];
    for (const file of ['README.md', ...docs]) {
      for (const target of linkTargets(read(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not this repository's
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? file : relative(repoRoot, join(repoRoot, dirname(file), path));
        if (!existsSync(join(repoRoot, resolved))) broken.push(`${file}: ${target} (no file ${resolved})`);
        else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(read(resolved)).has(anchor))
          broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
