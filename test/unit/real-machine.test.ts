// The pieces of setup that read the real machine: port holders as lsof and ss print them, the
// registry's addresses as k3d makes them, and the disk estimate.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { createProcessRunner } from '../../src/exec/runner.js';
import { busyPortsHint, parseLsofFields, parseSsUsers, portHolder } from '../../src/cluster/port-holders.js';
import { registryAddresses } from '../../src/cluster/registry.js';
import { bytesNeeded, kubeconfigWritableCheck } from '../../src/cluster/preflight.js';
import { parseClusterConfig } from '../../src/cluster/config.js';
import { freePort, repoRoot } from '../helpers/harness.js';
import { loadImageSpecs } from '../../src/images/images.js';
import { imagesDiskNeed, unknownImageEstimate } from '../../src/setup/preflight.js';
import { KeystoneError } from '../../src/errors.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let server: Server | undefined;
afterEach(() => server?.close());

describe('who holds a port', () => {
  it('reads lsof field output and ss users, as the tools print them', () => {
    // macOS: `lsof -nP +c 0 -iTCP:5000 -sTCP:LISTEN -Fpc` with the AirPlay Receiver listening.
    expect(parseLsofFields('p512\ncControlCenter\n')).toEqual({ pid: 512, command: 'ControlCenter' });
    expect(parseLsofFields('')).toBeUndefined();
    expect(parseSsUsers('LISTEN 0      511    *:45123 *:* users:(("node",pid=5089,fd=19))\n')).toEqual({
      pid: 5089,
      command: 'node',
    });
    // Another user's process (docker-proxy as root): ss shows the socket but no users.
    expect(parseSsUsers('LISTEN 0      4096   0.0.0.0:8080 0.0.0.0:*\n')).toBeUndefined();
  });

  it('names this test process as the holder of a port it listens on, with the real tools of this machine', async () => {
    const port = await freePort();
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(port, '0.0.0.0', resolve));
    // The one test that reads this machine's tools on purpose: lsof or ss from the system's own
    // directories (not this process's PATH, nor a DOCKER_HOST), and it holds with either, both or neither.
    const runner = createProcessRunner({
      verbose: false,
      dryRun: false,
      log: () => {},
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const found = await portHolder(runner, port);
    const lsof = await runner.run('lsof', ['-v'], { reject: false }).then(
      () => true,
      () => false,
    );
    const ss =
      process.platform === 'linux' &&
      (await runner.run('ss', ['-V'], { reject: false }).then(
        () => true,
        () => false,
      ));
    if (lsof || ss) expect(found).toEqual({ port, command: 'node', holder: `node (pid ${process.pid})` });
    else expect(found).toEqual({ port }); // neither tool: the holder is unknown, and nothing fails
  });

  it('gives the AirPlay fix for ControlCenter, and a way to find an unknown holder otherwise', () => {
    expect(
      busyPortsHint([{ port: 5000, command: 'ControlCenter', holder: 'ControlCenter (pid 512)' }], 'c.yaml', 'darwin'),
    ).toMatch(/^turn off AirPlay Receiver/);
    expect(busyPortsHint([{ port: 5000 }], 'c.yaml', 'darwin')).toMatch(/^turn off AirPlay Receiver/);
    expect(busyPortsHint([{ port: 8080 }], 'c.yaml', 'linux')).toBe(
      'stop what holds it (find it with `sudo ss -ltnp` or `docker ps`), or change the host ports in c.yaml',
    );
    expect(busyPortsHint([{ port: 8080, holder: 'nginx (pid 1)', command: 'nginx' }], 'c.yaml', 'linux')).toBe(
      'stop what holds it, or change the host ports in c.yaml',
    );
  });
});

describe('the registry k3d v5.8.3 creates', () => {
  const base = 'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: lab\nservers: 1\n';
  it('keeps the configured name, uses container port 5000 inside, the host port outside', () => {
    const config = parseClusterConfig(`${base}registries:\n  create:\n    name: reg\n    hostPort: "5111"\n`, 'c.yaml');
    expect(registryAddresses(config)).toEqual({
      name: 'reg',
      inCluster: 'reg:5000',
      fromHost: 'localhost:5111',
      hostPort: 5111,
    });
  });
  it('defaults the name to k3d-<cluster>-registry and leaves a random host port unknown', () => {
    const config = parseClusterConfig(`${base}registries:\n  create: {}\n`, 'c.yaml');
    expect(registryAddresses(config)).toEqual({ name: 'k3d-lab-registry', inCluster: 'k3d-lab-registry:5000' });
    expect(registryAddresses(parseClusterConfig(base, 'c.yaml'))).toBeUndefined();
  });
});

describe('pre-checks', () => {
  it('counts each image on Docker and once more in every node', () => {
    expect(bytesNeeded({ knownBytes: 1024 ** 3, toBuild: [], nodes: 5 })).toBe(6 * 1024 ** 3);
    expect(bytesNeeded({ knownBytes: 0, toBuild: [800e6, 3e9], nodes: 1 })).toBe(2 * 3.8e9);
  });
  it('estimates each image still to build by its compose.yaml size, not one figure for all (issue 28)', async () => {
    const specs = await loadImageSpecs(join(repoRoot, 'images', 'compose.yaml'));
    expect(Object.fromEntries(specs.map((s) => [s.image, s.estimatedBytes]))).toEqual({
      'keystone-celery-worker:0.1.0': 200e6,
      'fenicsx-toolbox:0.1.0': 3e9,
      'keystone/lammps:0.1.0': 800e6,
      'openfoam-toolbox:0.1.0': 900e6,
    });
    // Docker has the LAMMPS image (its real size counts); the other three are to build.
    const need = imagesDiskNeed(
      specs.map((spec) => ({ spec, size: spec.service === 'lammps' ? 612e6 : undefined })),
      5,
    );
    expect(need).toEqual({ knownBytes: 612e6, toBuild: [200e6, 3e9, 900e6], nodes: 5 });
    // An image without an estimate is taken to be as large as the largest of keystone's own.
    expect(imagesDiskNeed([{ spec: {}, size: undefined }], 1).toBuild).toEqual([unknownImageEstimate]);
  });
  it('refuses an x-keystone-image-size that is not a size, saying how to write one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keystone-compose-'));
    try {
      const file = join(dir, 'compose.yaml');
      await writeFile(file, 'services:\n  a:\n    image: a:1\n    x-keystone-image-size: 3 gigs\n');
      const err = await loadImageSpecs(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeystoneError);
      expect((err as KeystoneError).message).toBe(`${file}: services.a.x-keystone-image-size "3 gigs" is not a size`);
      expect((err as KeystoneError).hint).toBe('write it as `docker images` prints sizes, e.g. 850MB or 3.2GB');
      expect((err as KeystoneError).exitCode).toBe(2);
      await writeFile(file, 'services:\n  a:\n    image: a:1\n    x-keystone-image-size: 1.5GB\n');
      expect((await loadImageSpecs(file))[0]?.estimatedBytes).toBe(1.5e9);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('a kubeconfig under a file that is not a directory cannot be written', async () => {
    expect((await kubeconfigWritableCheck('/etc/hostname/config')).status).toBe('fail');
    const dir = await mkdtemp(join(tmpdir(), 'keystone-kubeconfig-'));
    const file = join(dir, 'nonexistent-dir', 'config');
    expect(await kubeconfigWritableCheck(file)).toEqual({ status: 'ok', detail: `${file} will be created` });
    await rm(dir, { recursive: true, force: true });
  });
});
