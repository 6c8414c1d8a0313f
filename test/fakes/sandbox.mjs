// A sandbox to run the built CLI as a user would, shared by the tests and the benchmark: fake
// k3d/docker/kubectl first (and only) on PATH, a private HOME and kubeconfig, a copy of the
// project (cluster config on free host ports), the fake API server with its controllers, and a
// fake machine (free disk space, test/fakes/fake-machine.cjs). Its environment is built from
// nothing, never from this process's: no DOCKER_HOST, KUBECONFIG, NO_COLOR, TERM, TZ, proxy or
// CA setting of the host reaches the keystone it runs (docs/architecture.md, "What a test may
// read from the machine").
import { copyFile, lstat, mkdtemp, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { startFakeKubeApi } from './kube-api-server.mjs';
import { attachControllers } from './cluster-controllers.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(repoRoot, 'bin', 'keystone.cjs');
const fakesDir = join(repoRoot, 'test', 'fakes');

/** Whether something on this machine listens on 127.0.0.1:port right now. */
function portFree(port) {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

/**
 * A port nothing listens on right now, below Linux's ephemeral range (32768–60999): servers that
 * listen on port 0 (the fake API servers of tests running alongside) are given ports from that
 * range, and one of them taking a sandbox's "free" host port made setup's port check fail at random.
 */
export async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await portFree(port)) return port;
  }
}

/**
 * Copies a directory tree: files with their modes, symlinks as links. Plain copyFile calls: fs.cp
 * costs about 30 ms of CPU for the sandbox's ~40 files, and every test makes a sandbox.
 * @param {string} from @param {string} to @param {(name: string) => boolean} [keep]
 */
async function copyTree(from, to, keep = () => true) {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (!keep(entry.name)) continue;
    const [src, dst] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) await copyTree(src, dst, keep);
    else if (entry.isSymbolicLink()) await symlink(await readlink(src), dst);
    else await copyFile(src, dst);
  }
}

/**
 * @typedef {object} SandboxSnapshot What a sandbox holds at one moment (snapshotSandbox), to start
 *   others from: its files, its fake cluster's state, and what both name of the sandbox it came from.
 * @property {string} root @property {[number, number, number, number]} ports @property {string[]} apiUrls @property {number} takenAt
 * @property {{ path: string, mode: number, link?: string, data?: Buffer }[]} files under the root, parents first
 * @property {{ path: string, data: Buffer }[]} volumes the claims' directories (pod-exec.mjs), relative to them
 * @property {string} apiState the fake API server's exportState(), as JSON
 * @property {[string, unknown][]} controllers what the fake controllers remember (controllersState)
 */

/**
 * The controllers' memory (cluster-controllers.mjs keeps it all in the object it returns): each
 * Map, Set and plain value of it, copied; functions (test hooks) are not state.
 * @param {Record<string, unknown>} cluster @returns {[string, unknown][]}
 */
function controllersState(cluster) {
  return Object.entries(cluster)
    .filter(([, value]) => typeof value !== 'function')
    .map(([key, value]) => [
      key,
      value instanceof Map ? new Map(value) : value instanceof Set ? new Set(value) : structuredClone(value),
    ]);
}

/** @param {Record<string, unknown>} cluster @param {[string, unknown][]} state */
function restoreControllers(cluster, state) {
  for (const [key, value] of state) {
    const own = cluster[key];
    if (own instanceof Map && value instanceof Map) for (const [k, v] of value) own.set(k, structuredClone(v));
    else if (own instanceof Set && value instanceof Set) for (const v of value) own.add(structuredClone(v));
    else cluster[key] = structuredClone(value);
  }
}

/** The directory behind the fake cluster's claims (pod-exec.mjs: <volumes root>/claims/<ns>/<claim>). */
const claimsDir = (api) => dirname(dirname(api.claimDir('ns', 'claim')));

/** Every directory, file and link under dir (relative paths, parents first), except the top-level names in skip. */
async function walk(dir, skip = []) {
  /** @type {{ path: string, mode: number, link?: string, data?: Buffer }[]} */
  const out = [];
  const visit = async (rel) => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? join(rel, entry.name) : entry.name;
      if (!rel && skip.includes(entry.name)) continue;
      const full = join(dir, path);
      const { mode } = await lstat(full);
      if (entry.isSymbolicLink()) out.push({ path, mode, link: await readlink(full) });
      else if (entry.isDirectory()) {
        out.push({ path, mode });
        await visit(path);
      } else out.push({ path, mode, data: await readFile(full) });
    }
  };
  await visit('');
  return out;
}

/**
 * The sandbox as it is now, to start others from (createSandbox({ from })). Taken when nothing is
 * in flight (no command running): open watches and timers of the fake cluster are not in it.
 * @param {Awaited<ReturnType<typeof createSandbox>>} sandbox @param {{ skip?: string[] }} [options] top-level names to leave out
 * @returns {Promise<SandboxSnapshot>}
 */
export async function snapshotSandbox(sandbox, options = {}) {
  const claims = claimsDir(sandbox.api);
  return {
    root: sandbox.root,
    ports: sandbox.ports,
    apiUrls: [...new Set([sandbox.api.url, sandbox.api.controlUrl])],
    takenAt: Date.now(),
    files: await walk(sandbox.root, options.skip),
    volumes: existsSync(claims)
      ? (await walk(claims)).filter((f) => f.data).map(({ path, data }) => ({ path, data }))
      : [],
    apiState: JSON.stringify(sandbox.api.exportState()),
    controllers: controllersState(sandbox.cluster),
  };
}

/** A JSON string value that is a timestamp, as the API writes them (never a key: no colon after it). */
const isoTimeValue = /"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)"(?!\s*:)/g;

/**
 * A snapshot's cluster state for a new sandbox: its paths and server URLs made the new one's, and
 * every timestamp moved on by the time since it was taken, so the cluster is as old as a cluster
 * set up just now would be (ages, "since", event times read as they would after a fresh setup).
 */
function restoredApiState(snapshot, root, urls) {
  let text = snapshot.apiState.replaceAll(snapshot.root, root);
  for (const [i, url] of snapshot.apiUrls.entries()) text = text.replaceAll(url, urls[i] ?? urls[0]);
  const shift = Date.now() - snapshot.takenAt;
  // On the text, not with a JSON.parse reviver: a reviver visits every value of every object
  // (a fifth of a second per sandbox here), the regular expression only the timestamps.
  text = text.replace(isoTimeValue, (_match, value, fraction) => {
    const moved = new Date(Date.parse(value) + shift).toISOString();
    return `"${fraction ? moved : moved.replace(/\.\d+Z$/, 'Z')}"`;
  });
  const state = JSON.parse(text);
  for (const request of state.requests) request.at += shift;
  return state;
}

/** Writes a snapshot's files under a new root, naming the new root and API server where they named the old. */
async function restoreFiles(snapshot, root, urls) {
  const rewrite = (/** @type {Buffer} */ data) => {
    if (!data.includes(snapshot.root) && !snapshot.apiUrls.some((url) => data.includes(url))) return data;
    let text = data.toString('utf8').replaceAll(snapshot.root, root);
    for (const [i, url] of snapshot.apiUrls.entries()) text = text.replaceAll(url, urls[i] ?? urls[0]);
    return text;
  };
  for (const file of snapshot.files) {
    const path = join(root, file.path);
    if (file.link !== undefined) await symlink(file.link.replaceAll(snapshot.root, root), path);
    else if (file.data) await writeFile(path, rewrite(file.data), { mode: file.mode & 0o7777 });
    else await mkdir(path, { mode: file.mode & 0o7777 });
  }
}

/**
 * @param {{ tools?: string[], state?: object, nodeReadyDelayMs?: number, podStartDelayMs?: number, historyLimit?: number, tls?: boolean, from?: SandboxSnapshot }} [options]
 *   from: start as that snapshot's sandbox was (its files, its cluster's objects, logs and history),
 *   instead of a new project and an empty cluster; tools and state then come from the snapshot.
 */
export async function createSandbox(options = {}) {
  const root = await mkdtemp(join(tmpdir(), 'keystone-test-'));
  const bin = join(root, 'bin');
  const home = join(root, 'home');
  const fake = join(root, 'fake');
  const project = join(root, 'project');
  const configPath = join(project, 'k8s', 'configs', 'k3d-cluster-config.yaml');
  const api = await startFakeKubeApi({
    nodeReadyDelayMs: options.nodeReadyDelayMs ?? 20,
    historyLimit: options.historyLimit,
    tls: options.tls,
  });
  const from = options.from;
  // A snapshot's kubeconfig holds its own server's certificates; a TLS sandbox starts empty.
  if (from && options.tls) throw new Error('createSandbox: a TLS sandbox cannot start from a snapshot');
  /** @type {[number, number, number, number]} */
  let ports;
  if (from) {
    // The snapshot's host ports: nothing listens on them (the fake k3d publishes none), and its
    // cluster config and the fake k3d's state name them.
    ports = from.ports;
    const urls = [...new Set([api.url, api.controlUrl])];
    await restoreFiles(from, root, urls);
    api.importState(restoredApiState(from, root, urls));
    const claims = claimsDir(api);
    for (const volume of from.volumes) {
      await mkdir(dirname(join(claims, volume.path)), { recursive: true });
      await writeFile(join(claims, volume.path), volume.data);
    }
  } else {
    await Promise.all([bin, home, fake, join(project, 'k8s', 'configs')].map((d) => mkdir(d, { recursive: true })));
    await symlink(process.execPath, join(bin, 'node'));
    for (const tool of options.tools ?? ['k3d', 'docker', 'kubectl'])
      await symlink(join(fakesDir, 'bin', tool), join(bin, tool));

    // The project's cluster config, on free host ports so runs never depend on this machine's 8080.
    const config = parse(await readFile(join(repoRoot, 'k8s', 'configs', 'k3d-cluster-config.yaml'), 'utf8'));
    ports = /** @type {[number, number, number, number]} */ (
      await Promise.all([freePort(), freePort(), freePort(), freePort()])
    );
    config.ports = config.ports.map((p, i) => ({ ...p, port: `${ports[i]}:${p.port.split(':')[1]}` }));
    config.registries.create.hostPort = String(ports[3]);
    await writeFile(configPath, stringify(config));
    await copyTree(join(repoRoot, 'k8s', 'manifests'), join(project, 'k8s', 'manifests'));
    await copyTree(join(repoRoot, 'k8s', 'simulations'), join(project, 'k8s', 'simulations'));
    await copyTree(join(repoRoot, 'images'), join(project, 'images'));
    // The example inputs, without any runs a developer made locally.
    await copyTree(join(repoRoot, 'data'), join(project, 'data'), (name) => name !== 'runs');
  }

  const cluster = attachControllers(api, { podStartDelayMs: options.podStartDelayMs ?? 20 });
  if (from) restoreControllers(cluster, from.controllers);
  const kubeconfig = join(home, '.kube', 'config');
  /** @type {Record<string, string>} */
  const env = {
    PATH: bin,
    // Every keystone started in the sandbox sees the fake machine's disks, not this host's.
    NODE_OPTIONS: `--require ${join(fakesDir, 'fake-machine-preload.cjs')}`,
    TZ: 'UTC',
    HOME: home,
    KUBECONFIG: kubeconfig,
    KEYSTONE_FAKE_DIR: fake,
    KEYSTONE_FAKE_API: api.controlUrl,
    KEYSTONE_PROJECT_DIR: project,
    KEYSTONE_HOME: join(root, 'keystone-home'),
    CI: 'true',
    NO_COLOR: '1',
  };
  if (!from) {
    await writeFile(join(fake, 'state.json'), JSON.stringify(options.state ?? {}, null, 2));
    // What the fake k3d writes into kubeconfigs: TLS with client certificates, or plain HTTP.
    await writeFile(join(fake, 'kubeconfig-entries.json'), JSON.stringify(api.kubeconfigEntries));
  }
  return {
    root,
    bin,
    home,
    fake,
    project,
    configPath,
    kubeconfig,
    api,
    cluster,
    env,
    ports,
    async cleanup() {
      await api.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
