// The Celery worker for real: the worker's own code (images/celery-worker/keystone_worker), its
// Deployment's pod (k8s/manifests/20-celery-worker.yaml: uid 10001, read-only root filesystem,
// /tmp an emptyDir, ./data read-only, the password from the Secret) against a real Redis run as
// the redis Deployment's pod (10-redis.yaml: uid 999, read-only root, --requirepass).
//
// Where it runs: the worker image's base, python:3.12-slim, cannot be pulled here, so the worker
// runs in a stand-in built from the worker's own Dockerfile with two lines changed (FROM the
// Debian base; Debian's celery/python3-celery 5.2 and python3-redis instead of pip's celery[redis]
// 5.4.0; python-is-python3 so the readiness probe's `python` exists), and Redis is Debian's
// redis-server 7.0 in that image instead of redis:7.4.2-alpine. Everything else (the code, the
// user, WORKDIR, ENV, CMD, the pods' settings) is the project's.
import { mkdir, mkdtemp, readFile, rm, writeFile, chown } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildImages, dockerBuildArgs, type ImageSpec } from '../../src/images/images.js';
import { repoRoot } from '../engines/engine-run.js';
import { debianBase, dockerEnv } from './daemon.js';
import { tierRunner } from './build-images.js';
import { uniqueName } from './job-in-docker.js';
import { dockerRunArgs, type PodContainer, type PodSpecLike } from './pod-to-docker.js';

const tier = inject('containers');
const env = () => dockerEnv(tier.host);
const standIn = 'keystone-celery-worker-standin:0.1.0';
const started: string[] = [];
const temporary: string[] = [];

/** The worker's Dockerfile with its base and pip line replaced by Debian's packages; fails if those lines change. */
async function standInDockerfile(): Promise<string> {
  const real = await readFile(join(repoRoot, 'images', 'celery-worker', 'Dockerfile'), 'utf8');
  const from = /^FROM docker\.io\/library\/python:3\.12-slim$/m;
  const pip = /pip install --no-cache-dir "celery\[redis\]==[\d.]+"/;
  if (!from.test(real) || !pip.test(real))
    throw new Error(
      'images/celery-worker/Dockerfile changed its FROM or pip line: update the stand-in in celery.containers.ts',
    );
  return real
    .replace(from, `FROM ${debianBase}`)
    .replace(
      pip,
      'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends celery python3-celery python3-redis python-is-python3 redis-server && rm -rf /var/lib/apt/lists/*',
    );
}

async function manifest(file: string, kind: string): Promise<{ spec: { template: { spec: PodSpecLike } } }> {
  const docs = parseAllDocuments(await readFile(join(repoRoot, 'k8s', 'manifests', file), 'utf8')).map(
    (d) => d.toJS() as { kind: string },
  );
  return docs.find((d) => d.kind === kind) as unknown as { spec: { template: { spec: PodSpecLike } } };
}

describe(`the Celery worker against a real Redis (stand-in image on ${debianBase}: python:3.12-slim cannot be pulled here)`, () => {
  if (tier.skip) {
    it(`SKIPPED: ${tier.skip}`, (ctx) => ctx.skip());
    return;
  }
  const worker = uniqueName('celery-worker');
  const redis = uniqueName('redis');
  const password = randomBytes(18).toString('base64url');
  const secrets = { 'redis-auth': { password } };
  let dataDir = '';
  let standInReady = '';

  beforeAll(async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'keystone-tier-celery-'));
    temporary.push(tmp);
    // Built with keystone's build step (its docker build argv), context the worker's own folder.
    const dockerfile = join(tmp, 'Dockerfile.standin');
    await writeFile(dockerfile, await standInDockerfile());
    const spec: ImageSpec = {
      service: 'celery-worker-standin',
      image: standIn,
      build: { context: join(repoRoot, 'images', 'celery-worker'), dockerfile, args: {} },
    };
    const started0 = Date.now();
    const { runner } = await tierRunner(tier.host);
    await buildImages(runner, [spec], 15 * 60_000);
    standInReady = `docker ${dockerBuildArgs(spec).join(' ')} (${((Date.now() - started0) / 1000).toFixed(0)} s)`;

    // A run's outputs where the Jobs write them: ./data/lammps/runs/<id> on the host.
    dataDir = join(tmp, 'data');
    const run = join(dataDir, 'lammps', 'runs', 'lammps-20260101-000000-abcd');
    await mkdir(join(run, 'sub'), { recursive: true });
    await writeFile(join(run, 'log.lammps'), 'LAMMPS log\n');
    await writeFile(join(run, 'sub', 'dump.lj'), 'x'.repeat(1234));

    // The infra container: one network namespace; the Service's name resolves to it.
    const infra = uniqueName('celery-infra');
    started.push(infra);
    await execa(
      'docker',
      [
        'run',
        '-d',
        '--name',
        infra,
        '--network',
        'none',
        '--add-host',
        'redis.keystone.svc.cluster.local:127.0.0.1',
        '--user',
        '65534:65534',
        '--cap-drop',
        'ALL',
        debianBase,
        'sleep',
        'infinity',
      ],
      { env: env() },
    );

    // Redis as its Deployment's pod; its PVC is a directory given to the pod's fsGroup.
    const redisPod = (await manifest('10-redis.yaml', 'Deployment')).spec.template.spec;
    const rc = redisPod.containers[0]!;
    const redisData = join(tmp, 'redis-data');
    await mkdir(redisData);
    await chown(redisData, 999, 999);
    // The official image's entrypoint starts redis-server with the args; the stand-in names it.
    const clientEnv: Record<string, string> = {};
    // The pod passes --requirepass $(REDIS_PASSWORD) (the kubelet expands it); here redis-server
    // reads it from a config file instead, so no command line in this test shows the password.
    const redisConf = join(tmp, 'redis.conf');
    await writeFile(redisConf, `requirepass ${password}\n`, { mode: 0o644 });
    const redisArgs = await dockerRunArgs(
      redisPod,
      {
        ...rc,
        image: standIn,
        command: ['redis-server', '/etc/redis-auth.conf'],
        args: (rc.args ?? []).filter((a, i, all) => a !== '--requirepass' && all[i - 1] !== '--requirepass'),
      },
      {
        name: redis,
        nodeDataDir: dataDir,
        network: `container:${infra}`,
        secrets,
        clientEnv,
        volumeDirs: { data: redisData },
      },
    );
    redisArgs.splice(redisArgs.indexOf(standIn), 0, '-v', `${redisConf}:/etc/redis-auth.conf:ro`);
    started.push(redis);
    await execa('docker', ['run', '-d', ...redisArgs], { env: { ...env(), ...clientEnv } });

    const workerPod = (await manifest('20-celery-worker.yaml', 'Deployment')).spec.template.spec;
    const wc = workerPod.containers[0]!;
    const workerArgs = await dockerRunArgs(
      workerPod,
      { ...wc, image: standIn },
      { name: worker, nodeDataDir: dataDir, network: `container:${infra}`, secrets, clientEnv },
    );
    started.push(worker);
    await execa('docker', ['run', '-d', ...workerArgs], { env: { ...env(), ...clientEnv } });
    expect([...redisArgs, ...workerArgs].join(' ')).not.toContain(password);
    console.log(
      `stand-in: ${standInReady}\nredis:  docker run -d ${redisArgs.join(' ')}\nworker: docker run -d ${workerArgs.join(' ')}`,
    );
    // The worker is up when Celery says so (or it exits, failing the tests with its log).
    for (let i = 0; i < 600; i++) {
      const log = await execa('docker', ['logs', worker], { env: env(), reject: false, all: true });
      if (/celery@\S+ ready\./.test(log.all ?? '')) return;
      const running = (
        await execa('docker', ['inspect', '--format', '{{.State.Running}}', worker], { env: env(), reject: false })
      ).stdout.trim();
      if (running !== 'true') throw new Error(`the worker exited:\n${log.all}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `the worker did not get ready:\n${(await execa('docker', ['logs', worker], { env: env(), reject: false, all: true })).all}`,
    );
  }, 600_000);

  afterAll(async () => {
    if (started.length) await execa('docker', ['rm', '-f', ...started], { env: env(), reject: false });
    for (const dir of temporary) await rm(dir, { recursive: true, force: true });
  });

  /** Python in the worker's container, as the worker's user with its environment (docker exec). */
  const inWorker = (code: string, extra: string[] = []) =>
    execa('docker', ['exec', ...extra, worker, 'python', '-c', code], { env: env(), reject: false, all: true });

  it("the readiness probe (python -m keystone_worker.health) passes with the Secret's password and fails with another", async () => {
    const probe = (await manifest('20-celery-worker.yaml', 'Deployment')).spec.template.spec
      .containers[0] as PodContainer & { readinessProbe: { exec: { command: string[] } } };
    const ok = await execa('docker', ['exec', worker, ...probe.readinessProbe.exec.command], {
      env: env(),
      reject: false,
      all: true,
    });
    expect(ok.exitCode, ok.all).toBe(0);
    const wrong = await execa(
      'docker',
      ['exec', '-e', 'REDIS_PASSWORD=not-the-password', worker, ...probe.readinessProbe.exec.command],
      { env: env(), reject: false, all: true },
    );
    expect(wrong.exitCode).toBe(1);
    expect(wrong.all).toMatch(/^not ready: \w+/m);
    console.log(
      `readiness probe: exit ${ok.exitCode}; with a wrong password: exit ${wrong.exitCode}: ${wrong.all?.trim()}`,
    );
  });

  it("runs keystone.ping and keystone.summarize_run through Redis, and a refused directory comes back as the task's error", async () => {
    const r = await inWorker(
      [
        'import json',
        'from keystone_worker.app import app',
        'print(app.send_task("keystone.ping").get(timeout=60))',
        'print(json.dumps(app.send_task("keystone.summarize_run", args=["/data/lammps/runs/lammps-20260101-000000-abcd"]).get(timeout=60)))',
        'try:\n    app.send_task("keystone.summarize_run", args=["/etc"]).get(timeout=60)\nexcept Exception as e:\n    print(type(e).__name__ + ": " + str(e))',
      ].join('\n'),
    );
    expect(r.exitCode, r.all).toBe(0);
    const [pong, summary, refused] = r.stdout.trim().split('\n');
    expect(pong).toBe('pong');
    expect(JSON.parse(summary!)).toEqual({
      output_dir: '/data/lammps/runs/lammps-20260101-000000-abcd',
      files: [
        { path: 'log.lammps', bytes: 11 },
        { path: 'sub/dump.lj', bytes: 1234 },
      ],
    });
    expect(refused).toBe('ValueError: /etc is not under /data, the only directory the worker reads');
    // The tasks ran in the worker (its log), not in the client.
    const log = (await execa('docker', ['logs', worker], { env: env(), all: true })).all ?? '';
    expect(log).toMatch(/Task keystone\.summarize_run\[[\w-]+\] succeeded/);
    console.log(`tasks through Redis: ${pong}; ${summary}; ${refused}`);
  });

  it('the worker cannot write its root filesystem or the data directory (read-only, as the pod says)', async () => {
    const r = await inWorker(
      'import os\nfor p in ["/app/x", "/data/lammps/x", "/tmp/x"]:\n    try:\n        open(p, "w").close(); print(p, "written")\n    except OSError as e:\n        print(p, e.strerror)',
    );
    expect(r.stdout.trim().split('\n')).toEqual([
      '/app/x Read-only file system',
      '/data/lammps/x Read-only file system',
      '/tmp/x written',
    ]);
  });
});
