// keystone's own Docker calls against the real daemon: `docker info` (doctor's and setup's
// Docker check, the disk-space pre-check's DockerRootDir), `docker image inspect` (which images
// Docker has, their sizes), `docker build` (global-setup.ts builds the images with it), and the
// port-holder lookup (`docker ps --filter publish=`); then the same calls with the daemon stopped,
// between calls and in the middle of a build. k3d stays a fake (test/fakes/fake-k3d.mjs): k3s
// images cannot be had here, so `keystone doctor` runs with the real docker and fake k3d/kubectl.
import { statfsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createProcessRunner, ToolFailedError } from '../../src/exec/runner.js';
import { dockerServerVersion } from '../../src/tools/docker.js';
import { diskSpaceCheck } from '../../src/cluster/preflight.js';
import { buildImages, hasLocalImage, localImageSize, type ImageSpec } from '../../src/images/images.js';
import { portHolder } from '../../src/cluster/port-holders.js';
import { KeystoneError } from '../../src/errors.js';
import { localMachine } from '../../src/machine.js';
import { cliPath, createHarness, type Harness } from '../helpers/harness.js';
import { currentOwnPid, debianBase, dockerEnv, startOwnDaemon, stopOwnDaemon } from './daemon.js';
import { tierRunner } from './build-images.js';
import { uniqueName } from './job-in-docker.js';
import { repoRoot } from '../engines/engine-run.js';

const tier = inject('containers');
const runner = () => createProcessRunner({ verbose: false, dryRun: false, log: () => {}, env: dockerEnv(tier.host) });

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** `keystone doctor -o json` as a user runs it: the real docker on PATH, fake k3d and kubectl. */
async function doctor(h: Harness): Promise<{
  exitCode: number;
  checks: { name: string; status: string; detail: string; hint?: string }[];
  stderr: string;
}> {
  // The built CLI with the sandbox's environment but this machine's disks: not harness.runProcess,
  // whose NODE_OPTIONS preloads the sandbox's fake machine (test/fakes/fake-machine-preload.cjs).
  const r = await execa(process.execPath, [cliPath, 'doctor', '-o', 'json'], {
    env: { ...h.env, NODE_OPTIONS: '', DOCKER_HOST: tier.host },
    extendEnv: false,
    cwd: h.project,
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
  const parsed = JSON.parse(r.stdout || '{}') as {
    checks?: { name: string; status: string; detail: string; hint?: string }[];
  };
  return { exitCode: r.exitCode ?? -1, checks: parsed.checks ?? [], stderr: r.stderr };
}

/** The fake docker (test/fakes/fake-docker.mjs) with `state`, as npm test runs it. */
async function fakeDocker(
  args: string[],
  state: Record<string, unknown>,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'keystone-tier-fake-'));
  try {
    await writeFile(join(dir, 'state.json'), JSON.stringify(state));
    const r = await execa(join(repoRoot, 'test', 'fakes', 'bin', 'docker'), args, {
      env: { ...process.env, KEYSTONE_FAKE_DIR: dir },
      reject: false,
      stripFinalNewline: false,
    });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function realDocker(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('docker', args, { env: dockerEnv(tier.host), reject: false, stripFinalNewline: false });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The calls keystone makes, and what of their output keystone reads: the fake must answer them as
 * the real CLI and daemon do (same exit code, same stdout once the values are masked, stderr
 * with the line keystone matches), with the daemon up and with it stopped.
 */
const keystoneCalls: { args: string[]; mask: (out: string) => string; stderr?: RegExp }[] = [
  {
    args: ['info', '--format', '{{json .ServerVersion}}'],
    mask: (o) => o.replace(/^"[^"]+"$/m, '"<version>"'),
    stderr: /Cannot connect to the Docker daemon at unix:\/\/\S+\. Is the docker daemon running\?/,
  },
  {
    args: ['info', '--format', '{{json .DockerRootDir}}'],
    mask: (o) => o.replace(/^"\/[^"]+"$/m, '"<path>"'),
    stderr: /Cannot connect to the Docker daemon/,
  },
  {
    args: ['image', 'inspect', '--format', '{{.Size}}', 'keystone-no-such-image:0.0.0'],
    mask: (o) => o,
    stderr: /no such image: keystone-no-such-image:0\.0\.0|Cannot connect to the Docker daemon/i,
  },
  {
    args: ['image', 'inspect', '--format', '{{.Size}}', debianBase],
    mask: (o) => o.replace(/^\d+$/m, '<size>'),
    stderr: /Cannot connect to the Docker daemon/,
  },
  {
    args: ['ps', '--filter', 'publish=1', '--format', '{{.Names}}'],
    mask: (o) => o,
    stderr: /Cannot connect to the Docker daemon/,
  },
];

async function compareWithFake(down: boolean): Promise<string[]> {
  const lines: string[] = [];
  for (const call of keystoneCalls) {
    const real = await realDocker(call.args);
    const fake = await fakeDocker(call.args, { docker: { down, images: [debianBase] } });
    const what = `docker ${call.args.join(' ')}${down ? ' (daemon stopped)' : ''}`;
    expect(fake.exitCode, `${what}: exit code, real ${real.exitCode}`).toBe(real.exitCode);
    expect(call.mask(fake.stdout), `${what}: stdout`).toBe(call.mask(real.stdout));
    if (real.exitCode !== 0 && call.stderr) {
      expect(real.stderr, `${what}: real stderr`).toMatch(call.stderr);
      expect(fake.stderr, `${what}: fake stderr`).toMatch(call.stderr);
    }
    lines.push(
      `${what}: exit ${real.exitCode}, stdout ${JSON.stringify(call.mask(real.stdout))}${real.stderr ? `, stderr ${JSON.stringify(real.stderr.trim().split('\n').pop())}` : ''}`,
    );
  }
  return lines;
}

describe(`keystone's Docker calls against the real daemon (${tier.daemon || 'no daemon'}; k3d and kubectl are the fakes: no k3s images here)`, () => {
  if (tier.skip) {
    it(`SKIPPED: ${tier.skip}`, (ctx) => ctx.skip());
    return;
  }
  let harness: Harness | undefined;
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await harness?.cleanup();
  });
  async function sandbox(): Promise<Harness> {
    if (harness) return harness;
    harness = await createHarness({ tools: ['k3d', 'kubectl'] });
    const docker = (await execa('sh', ['-c', 'command -v docker'])).stdout.trim();
    await symlink(docker, join(harness.bin, 'docker'));
    return harness;
  }

  it("the fake docker npm test uses answers keystone's calls as the real one does (daemon up)", async () => {
    console.log(
      `real docker, as the fake must answer:\n${(await compareWithFake(false)).map((l) => `  ${l}`).join('\n')}`,
    );
  });

  it("docker info: the server version (doctor and setup's Docker check)", async () => {
    const version = await dockerServerVersion(runner(), 20_000);
    expect(version).toBe(
      (
        await execa('docker', ['version', '--format', '{{.Server.Version}}'], { env: dockerEnv(tier.host) })
      ).stdout.trim(),
    );
    console.log(`dockerServerVersion: ${version}`);
  });

  it("docker info DockerRootDir: the disk-space pre-check measures the daemon's data root", async () => {
    const root = JSON.parse(
      (await execa('docker', ['info', '--format', '{{json .DockerRootDir}}'], { env: dockerEnv(tier.host) })).stdout,
    ) as string;
    const check = await diskSpaceCheck(
      runner(),
      localMachine,
      { knownBytes: 0, toBuild: [3 * 1024 ** 3], nodes: 2 },
      20_000,
    );
    const fs = statfsSync(root);
    const freeGiB = ((fs.bavail * fs.bsize) / 1024 ** 3).toFixed(1);
    expect(check.detail).toContain(` free at ${root} `);
    expect(check.detail).toContain(`${freeGiB} GiB free`);
    expect(check.status).toBe(fs.bavail * fs.bsize >= 9 * 1024 ** 3 ? 'ok' : 'fail');
    console.log(`diskSpaceCheck: ${check.status}: ${check.detail}`);
  });

  it('docker image inspect: sizes of images Docker has, undefined for one it does not', async () => {
    const size = await localImageSize(runner(), debianBase);
    const expected = Number(
      (await execa('docker', ['image', 'inspect', '--format', '{{.Size}}', debianBase], { env: dockerEnv(tier.host) }))
        .stdout,
    );
    expect(size).toBe(expected);
    expect(await localImageSize(runner(), 'keystone-no-such-image:0.0.0')).toBeUndefined();
    expect(await hasLocalImage(runner(), debianBase)).toBe(true);
  });

  it('docker ps --filter publish=: the real daemon takes the filter; a host-network container publishes nothing, so lsof/ss name the holder', async () => {
    const port = await freePort();
    const name = uniqueName('port-holder');
    // perl is in every Debian (perl-base): a listener without installing anything. Host network: this daemon has no bridge to publish through.
    const listen = `use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:${port}", Listen => 1, ReuseAddr => 1) or die "listen: $!"; print "listening\\n"; $| = 1; sleep 120;`;
    await execa(
      'docker',
      [
        'run',
        '-d',
        '--rm',
        '--name',
        name,
        '--network',
        'host',
        '--user',
        '4321:4321',
        '--cap-drop',
        'ALL',
        debianBase,
        'perl',
        '-e',
        listen,
      ],
      { env: dockerEnv(tier.host) },
    );
    cleanup.push(() => execa('docker', ['rm', '-f', name], { env: dockerEnv(tier.host), reject: false }));
    for (
      let i = 0;
      i < 100 &&
      !(await execa('docker', ['logs', name], { env: dockerEnv(tier.host), reject: false })).stdout.includes(
        'listening',
      );
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    const ps = await runner().run('docker', ['ps', '--filter', `publish=${port}`, '--format', '{{.Names}}']);
    expect(ps.exitCode).toBe(0);
    expect(ps.stdout.trim()).toBe('');
    const holder = await portHolder(runner(), port);
    expect(holder.holder).toMatch(/^perl \(pid \d+\)$/);
    console.log(
      `port ${port}: ${holder.holder} (docker ps --filter publish=${port}: none; ports published through a bridge are not verified here: this daemon has no bridge)`,
    );
  });

  it('keystone doctor: the Docker check and the disk-space pre-check from the real daemon', async () => {
    const h = await sandbox();
    const d = await doctor(h);
    const docker = d.checks.find((c) => c.name === 'docker');
    const disk = d.checks.find((c) => c.name === 'disk space');
    const builds = d.checks.find((c) => c.name === 'image builds');
    expect(docker, d.stderr).toMatchObject({
      status: 'ok',
      detail: `Docker ${await dockerServerVersion(runner(), 20_000)} is running`,
    });
    const root = JSON.parse(
      (await execa('docker', ['info', '--format', '{{json .DockerRootDir}}'], { env: dockerEnv(tier.host) })).stdout,
    ) as string;
    const fs = statfsSync(root);
    expect(disk?.detail).toContain(`${((fs.bavail * fs.bsize) / 1024 ** 3).toFixed(1)} GiB free at ${root} `);
    // The images this tier built are in Docker; the others are still to build.
    for (const image of tier.images) {
      if (image.status === 'built') expect(builds?.detail).not.toContain(image.image);
      else expect(builds?.detail).toContain(image.image);
    }
    console.log(
      `keystone doctor (real docker, fake k3d/kubectl):\n${d.checks.map((c) => `  ${c.name}: ${c.status}: ${c.detail}`).join('\n')}`,
    );
  });

  describe('the daemon stopped mid-way', () => {
    if (tier.ownPid === undefined) {
      it(`SKIPPED: this tier did not start ${tier.host} and does not stop a daemon it did not start`, (ctx) =>
        ctx.skip());
      return;
    }

    it("during a build: keystone's build step fails with Docker's reason, and the next calls say Docker is not running", async () => {
      const dir = await mkdtemp(join(tmpdir(), 'keystone-tier-build-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      await writeFile(join(dir, 'Dockerfile'), `FROM ${debianBase}\nRUN echo building && sleep 60\n`);
      const spec: ImageSpec = { service: 'slow', image: 'keystone-tier-slow:0.1.0', build: { context: dir, args: {} } };
      const { runner: buildRunner } = await tierRunner(tier.host);
      const build = buildImages(buildRunner, [spec], 120_000).then(
        () => undefined,
        (err: unknown) => err,
      );
      // The RUN step's container is up: the build is under way.
      const env = dockerEnv(tier.host);
      for (let i = 0; i < 300 && !(await execa('docker', ['ps', '-q'], { env, reject: false })).stdout.trim(); i++)
        await new Promise((r) => setTimeout(r, 100));
      await stopOwnDaemon(currentOwnPid()!);
      const err = await build;
      try {
        expect(err).toBeInstanceOf(ToolFailedError);
        const failed = err as ToolFailedError;
        expect(failed.message).toMatch(/^docker build failed: /);
        console.log(`build with the daemon stopped under it: ${failed.message}`);

        // The calls that follow, as keystone makes them.
        const version = await dockerServerVersion(runner(), 20_000).catch((e: unknown) => e);
        expect(version).toBeInstanceOf(KeystoneError);
        expect((version as KeystoneError).message).toMatch(
          /^Docker is not running or not reachable: Cannot connect to the Docker daemon at unix:\/\/.*\. Is the docker daemon running\?$/,
        );
        expect((version as KeystoneError).hint).toMatch(/check DOCKER_HOST/);
        // Not "no such image": a daemon that does not answer is said to be so (docs/reliability.md).
        await expect(localImageSize(runner(), debianBase)).rejects.toThrow(
          /^Docker is not running or not reachable: Cannot connect to the Docker daemon/,
        );
        const disk = await diskSpaceCheck(
          runner(),
          localMachine,
          { knownBytes: 0, toBuild: [3 * 1024 ** 3], nodes: 2 },
          20_000,
        );
        expect(disk).toMatchObject({
          status: 'warn',
          detail: 'could not ask Docker where it keeps its data; free space not checked',
        });
        expect((await portHolder(runner(), await freePort())).holder).toBeUndefined();
        console.log(
          `real docker with the daemon stopped, as the fake must answer:\n${(await compareWithFake(true)).map((l) => `  ${l}`).join('\n')}`,
        );

        const h = await sandbox();
        const d = await doctor(h);
        expect(d.exitCode).toBe(1);
        const docker = d.checks.find((c) => c.name === 'docker');
        expect(docker).toMatchObject({ status: 'fail' });
        expect(docker?.detail).toMatch(/^Docker is not running or not reachable: Cannot connect to the Docker daemon/);
        const builds = d.checks.find((c) => c.name === 'image builds');
        console.log(
          `keystone doctor with the daemon stopped:\n${d.checks.map((c) => `  ${c.name}: ${c.status}: ${c.detail}`).join('\n')}`,
        );
        expect(builds).toMatchObject({ status: 'warn' });
        expect(builds?.detail).toMatch(/^not checked: Docker is not running or not reachable/);
      } finally {
        await startOwnDaemon();
      }
    });
  });
});
