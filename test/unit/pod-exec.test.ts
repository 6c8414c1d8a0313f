// execInPod against the fake API server's pods/exec: the real WebSocket framing (v5 and v4), a
// real command on the pod's claim, streaming with backpressure, exit codes, the server's refusals.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pack } from 'tar-stream';
import { startApiWithClient, type FakeApi } from '../helpers/api-client.js';
import { KubeApiError, type KubeClient } from '../../src/kube/client.js';
import { execInPod, PodExecError } from '../../src/kube/pod-exec.js';
import { recordPadded } from '../../src/runs/storage/archive.js';

type Api = FakeApi;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function start(tls = false): Promise<{ api: Api; client: KubeClient }> {
  const started = await startApiWithClient(tls);
  stop = started.stop;
  return started;
}

/** A pod as the kubelet reports it: scheduled, its container running, a claim mounted at /vol. */
function helperPod(a: Api, overrides: { nodeName?: string; running?: boolean } = {}) {
  a.create('pods', {
    metadata: { name: 'helper', namespace: 'ks' },
    spec: {
      nodeName: overrides.nodeName ?? 'node-1',
      containers: [{ name: 'tools', image: 'debian', volumeMounts: [{ name: 'data', mountPath: '/vol' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'shared' } }],
    },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'tools',
          ready: true,
          state:
            overrides.running === false
              ? { waiting: { reason: 'ContainerCreating' } }
              : { running: { startedAt: new Date().toISOString() } },
        },
      ],
    },
  });
}

/** A Writable that keeps a hash and a byte count, and drains slowly (one chunk per macrotask). */
function slowSink(highWaterMark = 16 * 1024) {
  const hash = createHash('sha256');
  const sink = Object.assign(
    new Writable({
      highWaterMark,
      write(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        sink.bytes += chunk.length;
        sink.largest = Math.max(sink.largest, chunk.length);
        setImmediate(done);
      },
    }),
    { bytes: 0, largest: 0, digest: () => hash.digest('hex') },
  );
  return sink;
}

const untar = ['sh', '-c', 'mkdir -p "$1" && exec tar -x -f - -C "$1"', 'keystone-upload'];

describe('execInPod', () => {
  for (const protocol of ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const) {
    it(`uploads a tar stream into the pod's claim over ${protocol}: the files are in the claim's directory, byte for byte`, async () => {
      const { api: a, client: c } = await start();
      helperPod(a);
      const big = randomBytes(3 * 1024 * 1024 + 17);
      const tar = pack();
      tar.entry({ name: 'case/data.bin', size: big.length, mode: 0o644 }, big);
      tar.entry({ name: 'case/system/controlDict', mode: 0o644 }, 'application icoFoam;\n');
      tar.finalize();
      const result = await execInPod(c, {
        namespace: 'ks',
        pod: 'helper',
        command: [...untar, '/vol/lammps/runs/r1'],
        stdin: recordPadded(tar),
        protocols: [protocol],
      });
      expect(result).toEqual({ exitCode: 0, protocol });
      const dir = join(a.claimDir('ks', 'shared'), 'lammps', 'runs', 'r1', 'case');
      expect((await readFile(join(dir, 'data.bin'))).equals(big)).toBe(true);
      expect(await readFile(join(dir, 'system', 'controlDict'), 'utf8')).toBe('application icoFoam;\n');
    });
  }

  it('streams stdout to a slow Writable with backpressure, stderr apart, and returns the exit code', async () => {
    const { api: a, client: c } = await start();
    helperPod(a);
    const stdout = slowSink();
    const stderr = slowSink();
    const bytes = 8 * 1024 * 1024;
    const expected = createHash('sha256').update(Buffer.alloc(bytes)).digest('hex');
    const result = await execInPod(c, {
      namespace: 'ks',
      pod: 'helper',
      command: ['sh', '-c', `head -c ${bytes} /dev/zero; echo oops >&2; exit 3`],
      stdout,
      stderr,
    });
    expect(result.exitCode).toBe(3);
    expect(stdout.bytes).toBe(bytes);
    expect(stdout.digest()).toBe(expected);
    expect(stderr.bytes).toBe(5);
  });

  it('reads back what was written through the claim from a second exec (sha256sum in the pod)', async () => {
    const { api: a, client: c } = await start(true); // TLS with a client certificate, as a k3d or managed cluster
    helperPod(a);
    const tar = pack();
    tar.entry({ name: 'out.txt', mode: 0o644 }, 'hello\n');
    tar.finalize();
    expect(
      (await execInPod(c, { namespace: 'ks', pod: 'helper', command: [...untar, '/vol/x'], stdin: recordPadded(tar) }))
        .exitCode,
    ).toBe(0);
    const chunks: Buffer[] = [];
    const out = new Writable({ write: (chunk, _e, done) => (chunks.push(chunk), done()) });
    expect(
      (
        await execInPod(c, {
          namespace: 'ks',
          pod: 'helper',
          command: ['sh', '-c', 'cd "$1" && sha256sum out.txt', 'sum', '/vol/x'],
          stdout: out,
        })
      ).exitCode,
    ).toBe(0);
    expect(Buffer.concat(chunks).toString()).toBe(`${createHash('sha256').update('hello\n').digest('hex')}  out.txt\n`);
  });

  it('is refused as the API server refuses: a missing pod, an unknown container, a pod with no node', async () => {
    const { api: a, client: c } = await start();
    const missing = await execInPod(c, { namespace: 'ks', pod: 'helper', command: ['true'] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(KubeApiError);
    expect(missing).toMatchObject({ statusCode: 404, message: 'pods "helper" not found' });
    helperPod(a, { nodeName: '' });
    const bad = await execInPod(c, { namespace: 'ks', pod: 'helper', container: 'nope', command: ['true'] }).catch(
      (e: unknown) => e,
    );
    expect(bad).toMatchObject({ statusCode: 400, message: 'container nope is not valid for pod helper' });
    const unscheduled = await execInPod(c, { namespace: 'ks', pod: 'helper', command: ['true'] }).catch(
      (e: unknown) => e,
    );
    expect(unscheduled).toMatchObject({ statusCode: 400, message: 'pod helper does not have a host assigned' });
  });

  it('a container that is not running: the kubelet\'s "container not found", as HTTP 500 over v4 and as the error channel\'s Status over v5', async () => {
    const { api: a, client: c } = await start();
    helperPod(a, { running: false });
    const v4 = await execInPod(c, {
      namespace: 'ks',
      pod: 'helper',
      command: ['true'],
      protocols: ['v4.channel.k8s.io'],
    }).catch((e: unknown) => e);
    expect(v4).toMatchObject({ statusCode: 500, message: 'container not found ("tools")' });
    const v5 = await execInPod(c, { namespace: 'ks', pod: 'helper', command: ['true'] }).catch((e: unknown) => e);
    expect(v5).toBeInstanceOf(PodExecError);
    expect((v5 as Error).message).toContain('unable to upgrade connection: container not found ("tools")');
  });

  it("a command that is not in the image fails with the runtime's message, not an exit code", async () => {
    const { api: a, client: c } = await start();
    helperPod(a);
    const err = await execInPod(c, { namespace: 'ks', pod: 'helper', command: ['no-such-tool-here'] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PodExecError);
    expect((err as Error).message).toContain('executable file not found in $PATH');
  });

  it('an output that fails (a full disk) ends the exec with its error instead of waiting for a drain', async () => {
    const { api: a, client: c } = await start();
    helperPod(a);
    const full = new Writable({
      highWaterMark: 1024,
      write: (_chunk, _e, done) =>
        done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })),
    });
    full.on('error', () => undefined);
    const err = await execInPod(c, {
      namespace: 'ks',
      pod: 'helper',
      command: ['sh', '-c', 'head -c 4000000 /dev/zero'],
      stdout: full,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PodExecError);
    expect((err as Error).message).toBe(
      'writing the output of the command in pod helper: ENOSPC: no space left on device, write',
    );
  });

  it("an abort stops the command and rejects; the pod's claim keeps only what was written", async () => {
    const { api: a, client: c } = await start();
    helperPod(a);
    const controller = new AbortController();
    const out = new Writable({ write: (_chunk, _e, done) => (controller.abort(), done()) });
    const err = await execInPod(c, {
      namespace: 'ks',
      pod: 'helper',
      command: ['sh', '-c', 'echo started; exec sleep 60'],
      stdout: out,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PodExecError);
    expect((err as Error).message).toMatch(/^interrupted/);
    expect(existsSync(a.claimDir('ks', 'shared'))).toBe(true);
  });

  it('pings: a silent command stays connected while pongs come back; a connection gone silent fails instead of hanging', async () => {
    const { api: a, client: c } = await start();
    helperPod(a);
    const beat = { pingMs: 40, deadMs: 300 };
    // One second without a byte of output, three times the dead limit: the server's pongs keep it alive.
    const quiet = await execInPod(c, { namespace: 'ks', pod: 'helper', command: ['sleep', '1'], heartbeat: beat });
    expect(quiet.exitCode).toBe(0);
    a.silentExec = true;
    const started = Date.now();
    const err = await execInPod(c, { namespace: 'ks', pod: 'helper', command: ['sleep', '60'], heartbeat: beat }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PodExecError);
    expect((err as Error).message).toBe(
      'the connection to the API server for the command in pod helper went silent for 300 ms',
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
