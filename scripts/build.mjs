// Bundles the CLI with esbuild: Node's loader spends ~250 ms resolving the hundreds of files
// @kubernetes/client-node is made of; one bundle split into lazily loaded chunks starts in a
// fraction of that (figures in docs/performance.md). Code splitting keeps each command's
// modules, and client-node, out of the start-up path until the command needs them.
//
// The chunks are CommonJS (dist/main.cjs, dist/chunks/*.cjs), not ES modules: Node 20 has no
// compile cache for ES modules (no module.enableCompileCache), while a CommonJS file can be
// compiled with V8's code cache (bin/compile-cache.cjs), which takes the ~25–55 ms each command
// spent compiling its chunks down to a few. esbuild splits ES modules only, so it builds twice:
// once split as ESM (into a temporary directory), then each chunk alone converted to CommonJS,
// its imports of other chunks kept as require() calls (the source maps follow both passes).
//
// The build never leaves dist/ without a working CLI (issue 22 #17: `npm test` used to delete
// dist/ first, so a `keystone` started from the same clone meanwhile failed with "Cannot find
// module"). It is built beside dist/ (.dist-build-*, same file system) and then moved in a file
// at a time, each a rename that replaces the old file at once: the chunks first, the entry points
// and the texts that name other files last, so whatever a starting keystone reads is complete.
// The previous build's files stay (dist/build-files.json lists each build's): a keystone already
// running loads its lazily required chunks by their content-hashed names, which a new build does
// not reuse. Older builds' files are removed. With --if-stale (the test suite's global setup) a
// dist/ built from the same inputs, compared by content (inputsDigest), is kept: a staleness check
// by time could run the tests against old code, one by content cannot.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { install } from './install-build.mjs';

// What every pass shares: a Node 20 bundle, with maps that give --verbose stack traces their
// TypeScript lines (small without the sources inlined), and less text for V8 to scan at start-up
// (names are kept, so stack traces stay readable).
const nodeBundle = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
};

const dist = resolve('dist');
// `--if-stale` (the test suite's global setup): nothing to do when dist/ was built from exactly
// these inputs, as after `npm ci` (whose prepare step builds). The inputs are compared by content,
// not by time, so a checkout, a stash or a clock never makes an old build pass for a new one.
const inputs = await inputsDigest();
if (process.argv.includes('--if-stale') && (await builtFrom(dist)) === inputs) process.exit(0);
// A direct child of the project, as dist/ is: the bundle finds package.json at ../package.json.
const out = await mkdtemp(resolve('.dist-build-'));
const esm = await mkdtemp(join(tmpdir(), 'keystone-build-'));
try {
  await build({
    ...nodeBundle,
    entryPoints: { main: 'src/main.ts' },
    outdir: esm,
    splitting: true,
    format: 'esm',
    chunkNames: 'chunks/[name]-[hash]',
    // CommonJS has no import.meta: the second pass defines this name in the chunks that use it.
    define: { 'import.meta.url': '__keystoneModuleUrl' },
    // resvg (PNG for `jobs plot`) is a native addon picked per platform at run time: not bundled.
    external: ['@resvg/resvg-js'],
    logLevel: 'warning',
  });
  const chunks = (await readdir(esm, { recursive: true })).filter((f) => f.endsWith('.js')).map((f) => join(esm, f));
  const result = await build({
    ...nodeBundle,
    entryPoints: chunks,
    outdir: out,
    outbase: esm,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    // import() of another chunk becomes require() (no ESM loader at run time).
    supported: { 'dynamic-import': false },
    write: false,
    logLevel: 'error',
    plugins: [
      {
        name: 'chunks-stay-apart',
        setup(b) {
          // Another chunk (./x.js) or resvg: required at run time, never inlined.
          b.onResolve({ filter: /^\.\.?\/|^@resvg\// }, (args) =>
            args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.js$/, '.cjs'), external: true },
          );
        },
      },
    ],
  });
  const tab = await buildTabBundle();
  result.outputFiles.push(...tab.outputFiles);
  const hash = createHash('sha256');
  for (const file of result.outputFiles) {
    let text = file.text;
    // A chunk that reads import.meta.url gets it from its own file name, one line above its code
    // (its source map shifted by that line).
    if (file.path.endsWith('.cjs') && text.includes('__keystoneModuleUrl')) {
      text = `var __keystoneModuleUrl=require("node:url").pathToFileURL(__filename).href;\n${text}`;
    } else if (file.path.endsWith('.cjs.map')) {
      const source = result.outputFiles.find((f) => f.path === file.path.slice(0, -4));
      if (source?.text.includes('__keystoneModuleUrl')) {
        const map = JSON.parse(text);
        map.mappings = `;${map.mappings}`;
        text = JSON.stringify(map);
      }
    }
    if (file.path.endsWith('.cjs')) hash.update(join('dist', relative(out, file.path))).update(text);
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(file.path, text);
  }
  // What bin/compile-cache.cjs keys its cache by: a new build never reads an older build's code cache.
  await writeFile(join(out, 'build-id'), `${hash.digest('hex').slice(0, 16)}\n`);
  // Moved in last of all (install-build.mjs): a build cut short leaves the old digest, so it is redone.
  await writeFile(join(out, 'build-inputs'), `${inputs}\n`);
  await renderHelp(out);
  await renderCompletionTree(out);
  await install(out, dist);
} finally {
  await rm(esm, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
}

/** What a build is made of: every file under src/, the build scripts, the packages' lock and settings. */
async function inputsDigest() {
  const source = (await readdir('src', { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative('.', join(e.parentPath, e.name)));
  const files = [
    ...source,
    'scripts/build.mjs',
    'scripts/install-build.mjs',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
  ].sort();
  const hash = createHash('sha256').update(process.version);
  // A file that is not there (no package-lock.json in a copy) counts as absent, not as an error.
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(await readFile(file).catch(() => '\0absent'))
      .update('\0');
  return hash.digest('hex');
}

/** The inputs digest dist/ was built from, if it is whole (every file of its last build there). */
async function builtFrom(dist) {
  try {
    const files = JSON.parse(await readFile(join(dist, 'build-files.json'), 'utf8'));
    await Promise.all(files.map((f) => access(join(dist, f))));
    return (await readFile(join(dist, 'build-inputs'), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * A TAB (`keystone __complete`, src/completion/fast.ts) as its own bundle, dist/complete.cjs: one
 * file with only what a common TAB runs (read the config and the kubeconfig, one list request),
 * since every chunk of the split build it shared with main cost a file read and a code-cache
 * load, and the chunks brought the colour library and the terminal UI with them (measured in
 * docs/performance.md). The modules below, which only an unusual TAB needs, are left out: each
 * dynamic import of one loads a module that calls fullCliNeeded() (src/completion/full-cli.ts),
 * and that TAB is answered by main() instead. Nothing from node_modules may be in it: the build
 * stops if a static import brings a library onto the TAB path.
 */
async function buildTabBundle() {
  const leftOutPackages = /^(yaml|zod|execa|ora|ws|chalk|commander|@kubernetes\/client-node)(\/|$)/;
  const leftOutSources = new Set(
    [
      'src/kube/kubeconfig/kube-config.ts', // client-node's KubeConfig: exec plugins, auth providers
      'src/cluster/config.ts', // zod: a cluster config beyond the plain reading
      'src/runs/request/profiles.ts', // zod: a profiles file whose tool names are not yet remembered
      'src/images/images.ts', // import-images: the compose file
      'src/lock.ts',
    ].map((file) => resolve(file)),
  );
  const result = await build({
    ...nodeBundle,
    entryPoints: { complete: 'src/completion/fast.ts' },
    outdir: out,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    define: { 'import.meta.url': '__keystoneModuleUrl' }, // as in the split build (its second pass gives the name)
    metafile: true,
    write: false,
    logLevel: 'error',
    plugins: [
      {
        name: 'tab-leaves-out',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind !== 'dynamic-import') return undefined;
            const source = /^\.\.?\//.test(args.path)
              ? resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts'))
              : undefined;
            if (!(leftOutPackages.test(args.path) || (source && leftOutSources.has(source)))) return undefined;
            return { path: source ? relative(process.cwd(), source) : args.path, namespace: 'left-out' };
          });
          b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
            contents: `import { fullCliNeeded } from './full-cli.ts';\nfullCliNeeded(${JSON.stringify(args.path)});\n`,
            resolveDir: resolve('src/completion'),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  const libraries = Object.keys(result.metafile.inputs).filter((input) => input.includes('node_modules/'));
  if (libraries.length)
    throw new Error(
      `the TAB bundle (dist/complete.cjs) must not contain libraries, but has:\n  ${libraries.join('\n  ')}`,
    );
  return result;
}

// `keystone --help` is printed by the launcher from these texts (bin/prerendered-help.cjs): the
// built CLI's own help at each width where commander's wrapping changes.
async function renderHelp(out) {
  const { main } = createRequire(import.meta.url)(join(out, 'main.cjs'));
  const render = async (columns) => {
    let text = '';
    // A write calls its callback as a stream's does (main waits for stdout to settle before it exits).
    const stdout = {
      isTTY: true,
      columns,
      write: (chunk, done) => ((text += chunk), done?.(), true),
      on: () => stdout,
    };
    const code = await main(['--help'], {
      streams: { stdout, stderr: stdout },
      env: {},
      signal: new AbortController().signal,
    });
    if (code !== 0) throw new Error(`keystone --help exited ${code}: ${text}`);
    return text;
  };
  // Past its longest line nothing wraps: every wider terminal gets the same text (commander also
  // stops wrapping when a terminal is too narrow for it, so narrow widths are rendered as well).
  const longest = Math.max(...(await render(100_000)).split('\n').map((line) => line.length));
  const widths = [];
  let previous;
  for (let width = 1; width <= longest + 1; width++) {
    const text = await render(width);
    if (text !== previous) {
      widths.push(width);
      await mkdir(join(out, 'help'), { recursive: true });
      await writeFile(join(out, 'help', `${width}.txt`), text);
    }
    previous = text;
  }
  await writeFile(join(out, 'help', 'widths.json'), JSON.stringify(widths));
}

// The command tree `keystone __complete` walks without building the CLI (src/completion/fast.ts),
// read from the built CLI's own program.
async function renderCompletionTree(out) {
  const { completionTree } = createRequire(import.meta.url)(join(out, 'main.cjs'));
  await writeFile(join(out, 'completion-tree.json'), JSON.stringify(await completionTree()));
}
