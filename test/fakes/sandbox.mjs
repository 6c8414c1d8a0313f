// A sandbox to run the built CLI as a user would, shared by the tests and the benchmark: fake
// k3d/docker/kubectl first (and only) on PATH, a private HOME and kubeconfig, a copy of the
// project (cluster config on free host ports), the fake API server with its controllers, and a
// fake machine (free disk space, test/fakes/fake-machine.cjs). Its environment is built from
// nothing, never from this process's: no DOCKER_HOST, KUBECONFIG, NO_COLOR, TERM, TZ, proxy or
// CA setting of the host reaches the keystone it runs (docs/architecture.md, "What a test may
// read from the machine").
import { cp, mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
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
 * @param {{ tools?: string[], state?: object, nodeReadyDelayMs?: number, podStartDelayMs?: number, historyLimit?: number, tls?: boolean }} [options]
 */
export async function createSandbox(options = {}) {
  const root = await mkdtemp(join(tmpdir(), 'keystone-test-'));
  const bin = join(root, 'bin');
  const home = join(root, 'home');
  const fake = join(root, 'fake');
  const project = join(root, 'project');
  await Promise.all([bin, home, fake, join(project, 'k8s', 'configs')].map((d) => mkdir(d, { recursive: true })));
  await symlink(process.execPath, join(bin, 'node'));
  for (const tool of options.tools ?? ['k3d', 'docker', 'kubectl']) await symlink(join(fakesDir, 'bin', tool), join(bin, tool));

  // The project's cluster config, on free host ports so runs never depend on this machine's 8080.
  const config = parse(await readFile(join(repoRoot, 'k8s', 'configs', 'k3d-cluster-config.yaml'), 'utf8'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  config.ports = config.ports.map((p, i) => ({ ...p, port: `${ports[i]}:${p.port.split(':')[1]}` }));
  config.registries.create.hostPort = String(ports[3]);
  const configPath = join(project, 'k8s', 'configs', 'k3d-cluster-config.yaml');
  await writeFile(configPath, stringify(config));
  await cp(join(repoRoot, 'k8s', 'manifests'), join(project, 'k8s', 'manifests'), { recursive: true });
  await cp(join(repoRoot, 'k8s', 'simulations'), join(project, 'k8s', 'simulations'), { recursive: true });
  await cp(join(repoRoot, 'images'), join(project, 'images'), { recursive: true });
  // The example inputs, without any runs a developer made locally.
  await cp(join(repoRoot, 'data'), join(project, 'data'), { recursive: true, filter: (src) => !src.split('/').includes('runs') });

  const api = await startFakeKubeApi({ nodeReadyDelayMs: options.nodeReadyDelayMs ?? 20, historyLimit: options.historyLimit, tls: options.tls });
  const cluster = attachControllers(api, { podStartDelayMs: options.podStartDelayMs ?? 20 });
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
  await writeFile(join(fake, 'state.json'), JSON.stringify(options.state ?? {}, null, 2));
  // What the fake k3d writes into kubeconfigs: TLS with client certificates, or plain HTTP.
  await writeFile(join(fake, 'kubeconfig-entries.json'), JSON.stringify(api.kubeconfigEntries));
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
