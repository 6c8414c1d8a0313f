// `keystone --help` without loading the CLI: scripts/build.mjs ran the built CLI at every terminal
// width where commander's layout changes and kept each text in dist/help/<first width>.txt, so
// the launcher prints exactly what commander would print at this terminal's width, ~40 ms
// sooner (test/cli/prerendered-help.test.ts compares the two at every width).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The width commander wraps help to on this stream (src/main.ts getOutHelpWidth: a terminal's columns, else 80). */
const helpWidth = (stream) => (stream.isTTY && stream.columns) || 80;

/** The root help as it would be printed on this stream, or undefined when dist/help is missing or unreadable. */
function prerenderedHelp(stream, dir = path.join(__dirname, '..', 'dist', 'help')) {
  const width = helpWidth(stream);
  try {
    const widths = JSON.parse(fs.readFileSync(path.join(dir, 'widths.json'), 'utf8'));
    let from = widths[0];
    for (const w of widths) if (w <= width) from = w;
    return fs.readFileSync(path.join(dir, `${from}.txt`), 'utf8');
  } catch {
    return undefined;
  }
}

module.exports = { prerenderedHelp };
