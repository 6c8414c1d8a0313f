// A sandbox for running the built CLI as a user would: fake k3d/docker/kubectl first (and
// only) on PATH, a private HOME and kubeconfig, a project directory, and the fake API server.
import { cp, mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { startFakeKubeApi } from '../fakes/kube-api-server.mjs';
import { attachControllers } from '../fakes/cluster-controllers.mjs';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const cliPath = join(repoRoot, 'bin', 'keystone.js');
const fakesDir = join(repoRoot, 'test', 'fakes');

export type FakeTool = 'k3d' | 'docker' | 'kubectl';

export interface HarnessOptions {
  tools?: FakeTool[];
  state?: Record<string, unknown>;
  nodeReadyDelayMs?: number;
  podStartDelayMs?: number;
}

export interface RunOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

export async function createHarness(options: HarnessOptions = {}) {
  const root = await mkdtemp(join(tmpdir(), 'keystone-test-'));
  const bin = join(root, 'bin');
  const home = join(root, 'home');
  const fake = join(root, 'fake');
  const project = join(root, 'project');
  await Promise.all([bin, home, fake, join(project, 'k8s', 'configs'), join(project, 'k8s', 'manifests')].map((d) => mkdir(d, { recursive: true })));
  await symlink(process.execPath, join(bin, 'node'));
  for (const tool of options.tools ?? ['k3d', 'docker', 'kubectl']) await symlink(join(fakesDir, 'bin', tool), join(bin, tool));

  // The project's cluster config, on free host ports so tests never depend on this machine's 8080.
  const config = parse(await readFile(join(repoRoot, 'k8s', 'configs', 'k3d-cluster-config.yaml'), 'utf8'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  config.ports = config.ports.map((p: { port: string; nodeFilters: string[] }, i: number) => ({
    ...p,
    port: `${ports[i]}:${p.port.split(':')[1]}`,
  }));
  config.registries.create.hostPort = String(ports[3]);
  const configPath = join(project, 'k8s', 'configs', 'k3d-cluster-config.yaml');
  await writeFile(configPath, stringify(config));
  for (const f of await readdir(join(repoRoot, 'k8s', 'manifests'))) {
    await copyFile(join(repoRoot, 'k8s', 'manifests', f), join(project, 'k8s', 'manifests', f));
  }
  await cp(join(repoRoot, 'images'), join(project, 'images'), { recursive: true });
  await cp(join(repoRoot, 'k8s', 'simulations'), join(project, 'k8s', 'simulations'), { recursive: true });
  // The example inputs, without any runs a developer made locally.
  await cp(join(repoRoot, 'data'), join(project, 'data'), { recursive: true, filter: (src) => !src.split('/').includes('runs') });

  const api = await startFakeKubeApi({ nodeReadyDelayMs: options.nodeReadyDelayMs ?? 20 });
  const cluster = attachControllers(api, { podStartDelayMs: options.podStartDelayMs ?? 20 });
  const kubeconfig = join(home, '.kube', 'config');
  const env: Record<string, string> = {
    PATH: bin,
    HOME: home,
    KUBECONFIG: kubeconfig,
    KEYSTONE_FAKE_DIR: fake,
    KEYSTONE_FAKE_API: api.url,
    KEYSTONE_PROJECT_DIR: project,
    KEYSTONE_HOME: join(root, 'keystone-home'),
    CI: 'true',
    NO_COLOR: '1',
  };
  await writeFile(join(fake, 'state.json'), JSON.stringify(options.state ?? {}, null, 2));

  const harness = {
    root,
    bin,
    home,
    project,
    configPath,
    kubeconfig,
    api,
    cluster,
    env,
    ports,
    async run(args: string[], extra: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<RunOutcome> {
      const result = await execa(process.execPath, [cliPath, ...args], {
        env: { ...env, ...extra.env },
        extendEnv: false,
        reject: false,
        cwd: extra.cwd ?? project,
        timeout: extra.timeoutMs ?? 30_000,
        stdin: 'ignore',
      });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    /** Starts the CLI without waiting, for tests that signal it (Ctrl-C). */
    spawn(args: string[]) {
      return execa(process.execPath, [cliPath, ...args], { env, extendEnv: false, reject: false, cwd: project, stdin: 'ignore' });
    },
    async state(): Promise<Record<string, any>> {
      return JSON.parse(await readFile(join(fake, 'state.json'), 'utf8'));
    },
    async setState(state: Record<string, unknown>): Promise<void> {
      await writeFile(join(fake, 'state.json'), JSON.stringify(state, null, 2));
    },
    async calls(tool?: FakeTool): Promise<string[][]> {
      const file = join(fake, 'calls.jsonl');
      if (!existsSync(file)) return [];
      const lines = (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean);
      return lines
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
        .filter((c) => !tool || c.tool === tool)
        .map((c) => [c.tool, ...c.argv]);
    },
    async clearCalls(): Promise<void> {
      await rm(join(fake, 'calls.jsonl'), { force: true });
    },
    async cleanup(): Promise<void> {
      await api.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  return harness;
}
