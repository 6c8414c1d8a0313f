// Following logs through an API outage, in process against the fake API server over real HTTP,
// with the reconnect backoff's time driven by the test (a long outage without real minutes).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubeconfigFor, startFakeKubeApi } from '../fakes/kube-api-server.mjs';
import { loadKubeClient, type KubeClient } from '../../src/kube/client.js';
import { systemClock, type Clock } from '../../src/kube/watch-until.js';
import { resolveTarget } from '../../src/kube/target.js';
import { findKubeconfigs } from '../../src/kube/kubeconfig/files.js';
import { followLogs } from '../../src/operate/follow-logs.js';
import type { PodObject } from '../../src/kube/objects.js';

type Api = Awaited<ReturnType<typeof startFakeKubeApi>>;
let api: Api;
let client: KubeClient;
const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);

beforeEach(async () => {
  api = await startFakeKubeApi({});
  const dir = await mkdtemp(join(tmpdir(), 'keystone-kc-'));
  const file = join(dir, 'config');
  await writeFile(file, stringify(kubeconfigFor(api.url, 'k3d-keystone-cluster')), { mode: 0o600 });
  client = await loadKubeClient(resolveTarget({ kubeconfig: findKubeconfigs(file, {}) }, 'keystone-cluster'));
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(async () => {
  process.off('warning', onWarning);
  client.close();
  await api.close();
});

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 800 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

/**
 * Simulated time: a reconnect pause passes at once (after a real tick) and moves the clock on.
 * Sleeps of more than an hour are deadlines, which never come in these tests. Like the system
 * clock, it leaves no listener on the signal once a sleep is over.
 */
function drivenClock() {
  const state = { now: 0, sleeps: 0 };
  const clock: Clock = {
    now: () => state.now,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(
          () => {
            state.now += ms;
            state.sleeps++;
            done();
          },
          ms > 3600_000 ? 2 ** 31 - 1 : 2,
        );
        signal?.addEventListener('abort', done, { once: true });
      }),
  };
  return { clock, state };
}

describe('the system clock', () => {
  it('leaves no abort listener behind after a sleep (a retry loop sleeps on one signal many times)', async () => {
    const signal = new AbortController().signal;
    for (let i = 0; i < 20; i++) await systemClock.sleep(1, signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});

describe('logs -f through an API outage', () => {
  it('says the connection is lost and retrying, then that it is back, resumes after the last line without repeats, and leaks no listener', async () => {
    const pod: PodObject = {
      metadata: {
        name: 'redis-abc12-xyz34',
        namespace: 'keystone',
        labels: { app: 'redis', 'pod-template-hash': 'abc12' },
      },
      spec: { containers: [{ name: 'redis', image: 'redis' }] },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'redis', ready: true, restartCount: 0, state: { running: { startedAt: new Date().toISOString() } } },
        ],
      },
    } as PodObject;
    api.create('pods', pod);
    api.appendLog('keystone', pod.metadata!.name!, 'redis', 'before');
    const lines: string[] = [];
    const notices: string[] = [];
    const { clock, state } = drivenClock();
    const stop = new AbortController();
    const following = followLogs(
      client,
      { kind: 'deployment', name: 'redis', selector: 'app=redis' },
      [pod],
      { follow: true, timestamps: false, previous: false, clock },
      { line: (_prefix, _key, text) => lines.push(text), notice: (text) => notices.push(text) },
      stop.signal,
    );
    await until(() => lines.includes('before'), 'the first line');

    await fetch(`${api.url}/__fake/down`, { method: 'POST' });
    await until(
      () => notices.some((n) => n.startsWith('lost the connection to the Kubernetes API')),
      'the lost notice',
    );
    expect(notices.filter((n) => n.startsWith('lost'))[0]).toMatch(
      /^lost the connection to the Kubernetes API \(cannot reach the Kubernetes API at .*\); retrying$/,
    );
    api.appendLog('keystone', pod.metadata!.name!, 'redis', 'during');
    // Twenty simulated minutes of retries (the backoff tops out at 5 s).
    await until(() => state.now >= 20 * 60_000, 'a long outage');
    expect(notices.filter((n) => n.startsWith('lost'))).toHaveLength(1); // said once, not per retry

    await fetch(`${api.url}/__fake/up`, { method: 'POST' });
    await until(() => notices.includes('the Kubernetes API answers again; following on'), 'the back notice');
    await until(() => lines.includes('during'), 'the line written during the outage');
    api.appendLog('keystone', pod.metadata!.name!, 'redis', 'after');
    await until(() => lines.includes('after'), 'a line after the outage');
    expect(lines).toEqual(['before', 'during', 'after']);

    stop.abort();
    await following;
    expect(warnings.map((w) => w.message)).toEqual([]);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    expect(state.sleeps).toBeGreaterThan(200);
  }, 60_000);
});
