// Bundles the CLI with esbuild: Node's loader spends ~250 ms resolving the hundreds of files
// @kubernetes/client-node is made of; one bundle split into lazily loaded chunks starts in a
// fraction of that (figures in docs/performance.md). Code splitting keeps each command's
// modules, and client-node, out of the start-up path until the command needs them.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Maps give --verbose stack traces their TypeScript lines; without the sources inlined they stay small.
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'linked',
  // Less text for V8 to scan at start-up; names are kept so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Some bundled CommonJS packages call require(); ESM output needs it defined.
  banner: { js: "import { createRequire as __keystoneCreateRequire } from 'node:module'; const require = __keystoneCreateRequire(import.meta.url);" },
  // resvg (PNG for `jobs plot`) is a native addon picked per platform at run time: not bundled.
  external: ['@resvg/resvg-js'],
  logLevel: 'warning',
});
