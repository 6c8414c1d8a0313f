// V8's code cache for keystone's bundle. Node 20 has no module.enableCompileCache, so every
// command compiled its chunks from source (~25–55 ms, docs/performance.md); this compiles the
// bundle's CommonJS chunks with vm.Script and keeps the code V8 produced (after the command ran,
// so it holds the functions the command used) under keystone's home, in a directory named for
// the Node version and the build (dist/build-id, a hash of the bundle's files).
//
// The cache only ever saves time: a cache that is missing, unreadable, corrupted or made by
// another V8 is not used (each file carries a SHA-1 of its data, since release builds of V8 do
// not checksum code caches), a directory that cannot be written is left alone, and concurrent
// processes each write a whole file under a temporary name and rename it into place.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const vm = require('node:vm');
// The CommonJS loader itself; require('node:module') would also load the ESM loader and source maps.
const Module = module.constructor;

const digestLength = 20; // SHA-1

/** keystone's home, as src/keystone-home.ts finds it. */
function keystoneHome(env) {
  if (env.KEYSTONE_HOME) return env.KEYSTONE_HOME;
  const dataHome = env.XDG_DATA_HOME || path.join(env.HOME || require('node:os').homedir(), '.local', 'share');
  return path.join(dataHome, 'keystone');
}

const sha1 = (data) => crypto.createHash('sha1').update(data).digest();

/** The cached code in `file`, or undefined when there is none or it is not intact. */
function readCache(file) {
  let data;
  try {
    data = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (data.length <= digestLength) return undefined;
  const code = data.subarray(digestLength);
  return sha1(code).equals(data.subarray(0, digestLength)) ? code : undefined;
}

/** Writes the whole file under a temporary name, then renames it: readers never see half of one. */
function writeCache(file, code) {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, Buffer.concat([sha1(code), code]), { mode: 0o600 });
    fs.renameSync(temp, file);
    return true;
  } catch {
    try {
      fs.rmSync(temp, { force: true });
    } catch {
      // nothing to clean up
    }
    return false;
  }
}

/** Removes the caches of other builds or Node versions untouched for a day (best effort). */
function pruneOthers(root, keep) {
  try {
    for (const name of fs.readdirSync(root)) {
      const dir = path.join(root, name);
      if (name !== keep && Date.now() - fs.statSync(dir).mtimeMs > 86_400_000)
        fs.rmSync(dir, { recursive: true, force: true });
    }
  } catch {
    // another process pruned it first, or the directory cannot be read: harmless
  }
}

/**
 * Compiles the .cjs files under distDir with the code cache from now on. Returns `save()`, which
 * writes the cache of each file that had none (call it once the command has run), and counts of
 * what happened (for the tests).
 */
function installCompileCache(distDir, env = process.env) {
  const stats = { hits: 0, misses: 0, written: 0 };
  let build;
  try {
    build = fs.readFileSync(path.join(distDir, 'build-id'), 'utf8').trim();
  } catch {
    return { stats, save() {} }; // not a built bundle: compile as usual
  }
  const root = path.join(keystoneHome(env), 'cache', 'v8');
  const name = `${process.version}-${process.arch}-${build}`;
  const dir = path.join(root, name);
  const prefix = path.resolve(distDir) + path.sep;
  const pending = [];
  // Each chunk requires every chunk it imports, so a command resolves the same few dozen paths
  // ~150 times: remembered, path.resolve's loop stays cold (it was hot enough for V8 to spend
  // ~5 ms optimizing it, docs/performance.md).
  const resolved = new Map();
  const modulePaths = new Map();
  const nodeModulePaths = (dir) => {
    let paths = modulePaths.get(dir);
    if (paths === undefined) modulePaths.set(dir, (paths = Module._nodeModulePaths(dir)));
    return paths.slice(); // each module its own array, as Node gives it
  };
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCache(content, filename) {
    if (!filename.startsWith(prefix) || !filename.endsWith('.cjs')) return compile.call(this, content, filename);
    // filename is absolute and normalized, under prefix: the relative name is what follows it.
    const file = `${dir}${path.sep}${filename.slice(prefix.length).replaceAll(path.sep, '_')}.v8`;
    const cachedData = readCache(file);
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (cachedData && !script.cachedDataRejected) stats.hits++;
    else {
      stats.misses++;
      pending.push({ script, file });
    }
    const dirname = path.dirname(filename);
    // Another chunk of the bundle (./x.cjs, ../main.cjs) is loaded here directly: Node's own
    // resolution (stat and realpath of every path) cost ~5 ms over the ~20 chunks a command loads.
    const require = (id) => {
      if (!(id.startsWith('./') || id.startsWith('../')) || !id.endsWith('.cjs')) return this.require(id);
      const key = `${dirname}\0${id}`;
      let file = resolved.get(key);
      if (file === undefined) resolved.set(key, (file = path.resolve(dirname, id)));
      const loaded = Module._cache[file];
      if (loaded) return loaded.exports;
      const child = new Module(file, this);
      child.filename = file;
      child.paths = nodeModulePaths(path.dirname(file));
      Module._cache[file] = child;
      try {
        child._compile(fs.readFileSync(file, 'utf8'), file);
      } catch (err) {
        delete Module._cache[file];
        throw err;
      }
      child.loaded = true;
      return child.exports;
    };
    require.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    require.cache = Module._cache;
    require.main = process.mainModule;
    return script.runInThisContext().call(this.exports, this.exports, require, this, filename, dirname);
  };
  return {
    stats,
    save() {
      if (pending.length === 0) return;
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch {
        return; // an unwritable home: compile from source next time too
      }
      for (const { script, file } of pending.splice(0))
        if (writeCache(file, script.createCachedData())) stats.written++;
      pruneOthers(root, name);
    },
  };
}

module.exports = { installCompileCache };
