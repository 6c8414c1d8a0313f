// setup on a real machine (issue 13): the registry's real name and addresses, Docker without the
// Compose plugin, a host port held by another program (macOS AirPlay), the config judged as k3d
// judges it, names from one source, the pre-checks doctor and setup share, and dry runs (issue 11).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execa } from 'execa';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createHarness, createReadyHarness, type Harness } from '../helpers/harness.js';

// Each test runs the CLI (and fake tools) several times; on a shared machine that takes a while.
vi.setConfig({ testTimeout: 120_000 });

let h: Harness;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  await h?.cleanup();
});

function listen(port: number): Promise<void> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '0.0.0.0', resolve));
}

async function editConfig(edit: (config: Record<string, any>) => void): Promise<void> {
  const config = parse(await readFile(h.configPath, 'utf8'));
  edit(config);
  await writeFile(h.configPath, stringify(config));
}

const mutating = (calls: string[][]) =>
  calls.filter(
    (c) => c[0] === 'k3d' && c[1] === 'cluster' && ['create', 'start', 'stop', 'delete'].includes(c[2] ?? ''),
  );

describe('the registry (13.2)', () => {
  it('prints the name k3d really gives it and the addresses that work, following the config', async () => {
    h = await createHarness();
    await editConfig((c) => {
      c.registries.create.name = 'lab-registry';
    });
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    const registryPort = h.ports[3];
    // k3d v5.8.3 keeps registries.create.name as given (pkg/config/transform.go): no "k3d-" prefix.
    expect(r.stderr).toContain(`registry   lab-registry: push from this machine to localhost:${registryPort}`);
    expect(r.stderr).toContain(`docker push localhost:${registryPort}/my-image:1.0`);
    // In the cluster, registries.yaml mirrors <name>:5000 (pkg/client/registry.go).
    expect(r.stderr).toContain('in manifests: image: lab-registry:5000/my-image:1.0');
    expect(r.stderr).not.toMatch(/k3d-lab-registry|k3d-keystone-registry/);
    expect((await h.state()).lastCreateConfig.registries.create.name).toBe('lab-registry');
  });
});

describe('Docker without the Compose v2 plugin (13.3)', () => {
  it('the fake docker answers `compose` as the real CLI does when the plugin is missing', async () => {
    h = await createHarness({ state: { docker: { compose: false } } });
    const r = await execa(join(h.bin, 'docker'), ['compose', 'version'], {
      env: h.env,
      extendEnv: false,
      reject: false,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe("docker: 'compose' is not a docker command.\nSee 'docker --help'");
  });

  it("setup builds every image with `docker build` from compose.yaml's build contexts and never calls compose", async () => {
    h = await createHarness({ state: { docker: { compose: false } } });
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    const docker = await h.calls('docker');
    expect(docker.filter((c) => c[1] === 'compose')).toEqual([]);
    const builds = docker.filter((c) => c[1] === 'build');
    expect(builds).toContainEqual([
      'docker',
      'build',
      '-t',
      'keystone/lammps:0.1.0',
      '-f',
      join(h.project, 'images', 'lammps', 'Dockerfile'),
      join(h.project, 'images'),
    ]);
    expect(builds).toHaveLength(4);
    expect(r.stderr).toMatch(
      /imported keystone-celery-worker:0\.1\.0, fenicsx-toolbox:0\.1\.0, keystone\/lammps:0\.1\.0, openfoam-toolbox:0\.1\.0/,
    );
  });

  it('an image that cannot be built is found by the pre-checks, before the cluster is created, and by doctor', async () => {
    h = await createHarness({ state: { docker: { compose: false } } });
    await editCompose((c) => {
      c.services.lammps.build = { context: './nosuch' };
    });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `keystone/lammps:0.1.0 cannot be built: its build context ${join(h.project, 'images', 'nosuch')} does not exist`,
    );
    expect(mutating(await h.calls())).toEqual([]);
    const d = await h.run(['doctor']);
    expect(d.exitCode).toBe(1);
    expect(d.stdout).toMatch(/✗ image builds: keystone\/lammps:0\.1\.0 cannot be built/);
  });

  async function editCompose(edit: (c: Record<string, any>) => void): Promise<void> {
    const file = join(h.project, 'images', 'compose.yaml');
    const doc = parse(await readFile(file, 'utf8'));
    edit(doc);
    await writeFile(file, stringify(doc));
  }
});

describe('a host port held by another program (13.4)', () => {
  it('on a Mac: names the AirPlay Receiver holding the registry port and gives the fix; doctor says the same', async () => {
    h = await createHarness({ tools: ['k3d', 'docker', 'kubectl', 'lsof'] });
    const port = h.ports[3];
    await listen(port);
    // What macOS's lsof says about the AirPlay Receiver: its process is ControlCenter.
    await h.setState({ lsof: { listeners: [{ port, pid: 512, command: 'ControlCenter' }] } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`host port ${port} (held by ControlCenter (pid 512)) already in use`);
    expect(r.stderr).toContain(
      'turn off AirPlay Receiver (System Settings > General > AirDrop & Handoff), or change registries.create.hostPort in k8s/configs/k3d-cluster-config.yaml',
    );
    expect(r.stderr).toContain('nothing was created');
    expect(mutating(await h.calls())).toEqual([]);
    expect(await h.calls('lsof')).toContainEqual(['lsof', '-nP', '+c', '0', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc']);

    const d = await h.run(['doctor']);
    expect(d.exitCode).toBe(1);
    expect(d.stdout).toContain(`✗ host ports: host port ${port} (held by ControlCenter (pid 512)) already in use`);
    expect(d.stdout).toContain('fix: turn off AirPlay Receiver');
  });

  it('a port a container publishes is named by its container when lsof cannot see docker-proxy; with no tool at all, the port alone', async () => {
    h = await createHarness();
    const port = h.ports[0];
    await listen(port);
    await h.setState({ docker: { containers: [{ name: 'web-1', ports: [port] }] } });
    let r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`host port ${port} (held by container web-1) already in use`);
    await h.setState({});
    r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`host port ${port} already in use`);
    expect(r.stderr).toMatch(/hint: stop what holds it \(find it with `sudo (ss -ltnp|lsof -nP -iTCP -sTCP:LISTEN)`/);
    expect(mutating(await h.calls())).toEqual([]);
  });

  it('moving the registry to another port in the config moves it everywhere: the check, k3d and the summary', async () => {
    h = await createHarness();
    await listen(h.ports[3]); // the old port stays taken
    const { freePort } = await import('../helpers/harness.js');
    const moved = await freePort();
    await editConfig((c) => {
      c.registries.create.hostPort = String(moved);
    });
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await h.state()).lastCreateConfig.registries.create.hostPort).toBe(String(moved));
    expect(r.stderr).toContain(`push from this machine to localhost:${moved}`);
    expect(r.stderr).not.toContain(`localhost:${h.ports[3]}`);
  });
});

describe('the config, as k3d v5.8.3 reads it (13.5)', () => {
  it('refuses `manifests` with exit 2 and the line, before calling anything', async () => {
    h = await createHarness();
    await writeFile(h.configPath, `${await readFile(h.configPath, 'utf8')}manifests:\n  - name: extra\n`);
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/k3d-cluster-config\.yaml:\d+:1: manifests: unknown field "manifests"/);
    expect(r.stderr).toContain('use "files"');
    expect(await h.calls('k3d')).toEqual([]);
  });

  it("accepts `files` and k3d reads each source next to the config, as it would from the user's file", async () => {
    h = await createHarness();
    await writeFile(join(h.project, 'k8s', 'configs', 'extra.yaml'), 'apiVersion: v1\nkind: ConfigMap\n');
    await editConfig((c) => {
      c.files = [
        {
          source: 'extra.yaml',
          destination: '/var/lib/rancher/k3s/server/manifests/extra.yaml',
          nodeFilters: ['server:*'],
        },
      ];
    });
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    const state = await h.state();
    expect(state.lastCreateConfig.files[0].destination).toBe('/var/lib/rancher/k3s/server/manifests/extra.yaml');
    expect(state.lastCreateFiles).toEqual([
      { path: join(h.project, 'k8s', 'configs', 'extra.yaml'), content: 'apiVersion: v1\nkind: ConfigMap\n' },
    ]);
  });
});

describe('names from one source (13.6)', () => {
  it('a cluster named "lab" in the config is the only name in setup\'s and doctor\'s messages', async () => {
    h = await createHarness();
    await editConfig((c) => {
      c.metadata.name = 'lab';
    });
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('--context k3d-lab');
    const d = await h.run(['doctor']);
    expect(`${r.stderr}${d.stdout}`).not.toContain('keystone-cluster');
    // An invalid config: doctor does not guess a cluster name either.
    await editConfig((c) => {
      c.servers = 0;
    });
    const bad = await h.run(['doctor']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).not.toContain('keystone-cluster');
    expect(bad.stdout).toContain('not checked: the cluster config is invalid');
  }, 120_000);

  it('a manifest in another namespace than the one every command reads is refused before anything is applied', async () => {
    h = await createHarness();
    const file = join(h.project, 'k8s', 'manifests', '20-celery-worker.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('namespace: keystone', 'namespace: other'));
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /20-celery-worker\.yaml:\d+: Deployment celery-worker is in namespace "other"; keystone's stack lives in "keystone"/,
    );
    expect(await h.calls('k3d')).toEqual([]);
  });
});

describe('doctor sees what setup needs before it creates anything', () => {
  // The free space is the test's (the sandbox's fake machine, test/fakes/fake-machine.cjs), never
  // this host's: the check once read the real disk and failed the suite on one with < 72 GiB free.
  // Nothing built yet: 0.2 + 3 + 0.8 + 0.9 GB (images/compose.yaml) on Docker and in each of the
  // 5 nodes, 6 × 4.9 GB = 29.4 GB = 27.4 GiB.
  const needed = '27.4 GiB';
  const GiB = 1024 ** 3;

  it('lists disk space, image builds and the kubeconfig k3d will write, each passing on a healthy machine', async () => {
    h = await createHarness({ state: { machine: { disks: { '/': 40 * GiB } } } });
    const d = await h.run(['doctor', '-o', 'json']);
    const checks = JSON.parse(d.stdout).checks as { name: string; status: string; detail: string }[];
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['disk space']).toMatchObject({
      status: 'ok',
      detail: `40.0 GiB free at /var/lib/docker (about ${needed} needed)`,
    });
    expect(byName['image builds']?.detail).toBe(
      '4 of 4 images will be built with `docker build` (keystone-celery-worker:0.1.0, fenicsx-toolbox:0.1.0, keystone/lammps:0.1.0, openfoam-toolbox:0.1.0)',
    );
    expect(byName.kubeconfig?.detail).toBe(`${h.kubeconfig} will be created`);
  });

  it('too little disk for the images: doctor fails the check and setup stops before creating the cluster', async () => {
    h = await createHarness({ state: { machine: { disks: { '/': 500 * GiB, '/var/lib/docker': 20 * GiB } } } });
    const d = await h.run(['doctor']);
    expect(d.stdout).toContain(
      `✗ disk space: 20.0 GiB free at /var/lib/docker; the images need about ${needed} (4 images to build (about 4.6 GiB together) and a copy in each of 5 nodes)`,
    );
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('docker system prune');
    expect(mutating(await h.calls())).toEqual([]);
    // An image Docker has counts at its real size: a 2^60-byte one fills any disk.
    await h.setState({
      ...(await h.state()),
      docker: { images: ['keystone/lammps:0.1.0'], imageSizes: { 'keystone/lammps:0.1.0': 2 ** 60 } },
    });
    expect((await h.run(['doctor'])).stdout).toMatch(
      /✗ disk space: 20\.0 GiB free at \/var\/lib\/docker; the images need about \d{10}\.\d GiB \(3 images to build/,
    );
  });

  it("a spawned keystone sees the same fake disk (the sandbox preloads it), not this host's", async () => {
    h = await createHarness({ state: { machine: { disks: { '/var/lib/docker': 3 * GiB } } } });
    const d = await h.runProcess(['doctor', '-o', 'json']);
    const disk = (JSON.parse(d.stdout).checks as { name: string; status: string; detail: string }[]).find(
      (c) => c.name === 'disk space',
    );
    expect(disk).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^3\.0 GiB free at \/var\/lib\/docker; the images need about 27\.4 GiB/),
    });
    const r = await h.runProcess(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('3.0 GiB free at /var/lib/docker');
    expect(mutating(await h.calls())).toEqual([]);
  });

  it("Docker keeping its data where this machine cannot see it (Docker Desktop's VM): a warning saying how much it needs, and setup goes on", async () => {
    h = await createHarness({
      state: { docker: { rootDir: '/var/lib/docker' }, machine: { disks: { '/home': 100 * GiB } } },
    });
    const d = await h.run(['doctor', '-o', 'json']);
    const disk = (JSON.parse(d.stdout).checks as { name: string; status: string; detail: string }[]).find(
      (c) => c.name === 'disk space',
    );
    expect(disk).toEqual({
      name: 'disk space',
      status: 'warn',
      detail: `/var/lib/docker is not on this machine (a Docker VM?); make sure Docker has about ${needed} free (4 images to build (about 4.6 GiB together) and a copy in each of 5 nodes)`,
    });
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: disk space: /var/lib/docker is not on this machine');
  });

  it('a kubeconfig that cannot be written stops setup before the cluster is created', async () => {
    h = await createHarness();
    const notADir = join(h.home, 'plain-file');
    await writeFile(notADir, '');
    const kubeconfig = join(notADir, 'config');
    const r = await h.run(['setup'], { env: { KUBECONFIG: kubeconfig } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${kubeconfig} cannot be created: ${notADir} is not a directory`);
    expect(mutating(await h.calls())).toEqual([]);
  });
});

describe('dry runs say what they would do, not that it was done (11.13)', () => {
  it('setup --dry-run on a fresh project: would create the cluster, and names only the directories that are missing', async () => {
    h = await createHarness();
    await rm(join(h.project, 'data', 'lammps'), { recursive: true });
    await rm(join(h.project, 'data', 'openfoam'), { recursive: true });
    const r = await h.run(['setup', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('would create cluster keystone-cluster (2 servers, 3 agents)');
    expect(r.stderr).not.toMatch(/✓ created cluster/);
    expect(r.stderr).toMatch(/would create data\/lammps, data\/openfoam \(/);
    expect(existsSync(join(h.project, 'data', 'lammps'))).toBe(false);
  });

  it('start, stop and delete --dry-run say "would", and change nothing', async () => {
    h = await createReadyHarness();
    let r = await h.run(['stop', '--dry-run']);
    expect(r.stderr).toContain('would stop cluster keystone-cluster');
    expect(r.stderr).not.toContain('✓ stopped');
    expect((await h.run(['stop'])).exitCode).toBe(0);
    r = await h.run(['start', '--dry-run']);
    expect(r.stderr).toContain('would start cluster keystone-cluster');
    expect(r.stderr).not.toContain('✓ started');
    r = await h.run(['delete', '--dry-run']);
    expect(r.stderr).toContain('would delete cluster keystone-cluster');
    expect(r.stderr).not.toContain('✓ deleted');
    expect((await h.state()).clusters['keystone-cluster'].serversRunning).toBe(0);
  }, 120_000);

  it('setup --dry-run on a running cluster: the directories exist, and the Redis password "would" be kept', async () => {
    h = await createReadyHarness();
    const r = await h.run(['setup', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('data directories exist (data)');
    expect(r.stderr).toContain('would keep the existing Redis password');
    expect(r.stderr).not.toMatch(/would create \d+ directories/);
  }, 120_000);
});

describe('hints lead somewhere that works (11.14)', () => {
  it('setup --context on another cluster: a locally built image it cannot pull gets "push it", not import-images', async () => {
    h = await createHarness();
    const { kubeconfigFor } = await import('../fakes/kube-api-server.mjs');
    const file = join(h.home, 'bare.yaml');
    await writeFile(file, stringify(kubeconfigFor(h.api.url, 'bare')), { mode: 0o600 });
    h.api.create('nodes', {
      metadata: { name: 'bare-node-1' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const r = await h.run(['setup', '--context', 'bare', '--kubeconfig', file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot start: (ErrImagePull|ImagePullBackOff)/);
    expect(r.stderr).toContain(
      'is built locally and this cluster cannot pull it: push it to a registry the cluster pulls from (`keystone push-images --context <ctx>',
    );
    expect(r.stderr).not.toMatch(/hint: \S+ is built locally: run `keystone import-images`/);
  });
});
