// The waiter against the fake API server over real HTTP: watches, resumes, relists, deadlines.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubeconfigFor, startFakeKubeApi } from '../fakes/kube-api-server.mjs';
import { loadKubeClient, type KubeClient } from '../../src/kube/client.js';
import { waitForNodesReady, isNodeReady, type NodeObject } from '../../src/kube/nodes.js';
import { WaitTimeoutError, watchUntil, type Clock } from '../../src/kube/watch-until.js';
import { resolveTarget } from '../../src/kube/target.js';
import { findKubeconfigs } from '../../src/kube/kubeconfig/files.js';

type Api = Awaited<ReturnType<typeof startFakeKubeApi>>;
let api: Api;
let client: KubeClient;

async function clientFor(url: string): Promise<KubeClient> {
  const dir = await mkdtemp(join(tmpdir(), 'keystone-kc-'));
  const file = join(dir, 'config');
  await writeFile(file, stringify(kubeconfigFor(url, 'k3d-keystone-cluster')), { mode: 0o600 });
  return loadKubeClient(resolveTarget({ kubeconfig: findKubeconfigs(file, {}) }, 'keystone-cluster'));
}

const node = (name: string, ready: boolean) => ({
  metadata: { name },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

beforeEach(async () => {
  api = await startFakeKubeApi({ nodeReadyDelayMs: 60_000 });
  client = await clientFor(api.url);
});
afterEach(async () => api.close());

describe('waitForNodesReady', () => {
  it('returns as soon as the watch shows enough Ready nodes, with progress along the way', async () => {
    for (const n of ['a', 'b', 'c']) api.create('nodes', node(n, false));
    const progress: string[] = [];
    // Each node turns Ready once the waiter has reported the previous step (no timing involved).
    const next = ['a', 'b', 'c'];
    const waiting = waitForNodesReady(client, {
      expected: 3,
      timeoutMs: 10_000,
      onProgress: (p) => {
        progress.push(p);
        const name = next.shift();
        if (name) setImmediate(() => api.setNodeReady(name, true));
      },
    });
    const nodes = await waiting;
    expect(nodes.map((n) => n.ready)).toEqual([true, true, true]);
    expect(progress).toEqual(['0/3 nodes Ready', '1/3 nodes Ready', '2/3 nodes Ready', '3/3 nodes Ready']);
    // One list and one watch: no polling.
    expect(api.requests.map((r) => `${r.method} ${r.path}${r.query.includes('watch=1') ? ' watch' : ''}`)).toEqual([
      'GET /api/v1/nodes',
      'GET /api/v1/nodes watch',
    ]);
  });

  it('resumes a dropped watch from the last resourceVersion it saw', async () => {
    api.create('nodes', node('a', false));
    api.create('nodes', node('b', false));
    // Driven by what the waiter reports, not by pauses a loaded machine may outrun.
    let sawA = () => {};
    const aSeen = new Promise<void>((r) => (sawA = r));
    const waiting = waitForNodesReady(client, {
      expected: 2,
      timeoutMs: 10_000,
      onProgress: (p) => p.startsWith('1/2') && sawA(),
    });
    while (api.openWatches.size === 0) await new Promise((r) => setTimeout(r, 5));
    api.setNodeReady('a', true);
    await aSeen;
    const seen = String(api.resourceVersion);
    api.dropWatches();
    api.setNodeReady('b', true); // happens while no watch is open
    await waiting;
    const watches = api.requests.filter((r) => r.query.includes('watch=1'));
    expect(watches.length).toBe(2);
    expect(new URLSearchParams(watches[1]!.query).get('resourceVersion')).toBe(seen);
    expect(api.requests.filter((r) => !r.query.includes('watch=1'))).toHaveLength(1); // no relist
  });

  it('relists when the server answers 410 Gone for a too-old resourceVersion', async () => {
    api.create('nodes', node('a', false));
    const waiting = waitForNodesReady(client, { expected: 1, timeoutMs: 10_000 });
    // Once the watch is open (not after a guessed pause: a loaded machine may not have listed yet).
    while (api.openWatches.size === 0) await new Promise((r) => setTimeout(r, 5));
    // The stream drops, the node turns Ready, and etcd compacts, all before the client
    // reconnects: its resume point is gone, so the server sends an ERROR event with a 410.
    api.dropWatches();
    api.setNodeReady('a', true);
    api.compact();
    await waiting;
    const lists = api.requests.filter((r) => !r.query.includes('watch=1'));
    expect(lists).toHaveLength(2); // the first list and the relist after 410
    expect(api.requests.filter((r) => r.query.includes('watch=1')).length).toBeGreaterThanOrEqual(2);
  });

  it('times out with what it saw, using the injected clock (no real waiting)', async () => {
    api.create('nodes', node('a', true));
    api.create('nodes', node('b', false));
    let now = 0;
    // Time passes only once the waiter has seen the nodes (its first progress report), so the
    // deadline cannot come before the list, however slow this machine is.
    let listed: () => void;
    const seen = new Promise<void>((r) => (listed = r));
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        await seen;
        now += ms;
      },
    };
    const err = await waitForNodesReady(client, {
      expected: 2,
      timeoutMs: 300_000,
      clock,
      onProgress: () => listed(),
    }).catch((e: unknown) => e);
    // A class, so callers (scale/restart's hint) need not match the words.
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toBe('timed out after 300s waiting for nodes to become Ready (1/2 nodes Ready)');
  });

  it('stops at once when asked to, even while the watch is still being opened', async () => {
    api.create('nodes', node('a', false));
    // The server sits on the watch request (no headers yet), as a slow API does.
    // A minute: far beyond the bound below, so only waiting for the watch could exceed it, never load.
    api.faults.push({ match: (r) => r.query.has('watch'), delayMs: 60_000, times: 1 });
    const stop = new AbortController();
    const started = Date.now();
    const waiting = waitForNodesReady(client, { expected: 1, timeoutMs: 60_000, signal: stop.signal });
    setTimeout(() => stop.abort(), 200);
    await expect(waiting).rejects.toThrow('stopped waiting for nodes to become Ready');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('keeps trying while the API is unreachable (a starting cluster), then succeeds', async () => {
    await fetch(`${api.url}/__fake/down`, { method: 'POST' });
    api.create('nodes', { metadata: { name: 'a' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const waiting = waitForNodesReady(client, { expected: 1, timeoutMs: 10_000 });
    // Until it has tried, and been refused, twice: it kept trying.
    for (let i = 0; i < 1000 && api.refusedWhileDown < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(api.refusedWhileDown).toBeGreaterThanOrEqual(2);
    await fetch(`${api.url}/__fake/up`, { method: 'POST' });
    api.setNodeReady('a', true);
    const nodes = await waiting;
    expect(nodes[0]?.ready).toBe(true);
  });

  it('retries 503 and 429 answers, and fails at once on a 403', async () => {
    api.create('nodes', node('a', true));
    api.faults.push({ match: (r) => r.method === 'GET' && !r.query.has('watch'), status: 503, times: 2 });
    expect((await waitForNodesReady(client, { expected: 1, timeoutMs: 10_000 })).length).toBe(1);
    api.faults.push({ match: () => true, status: 403, times: 1 });
    await expect(
      watchUntil<NodeObject>({
        client,
        path: '/api/v1/nodes',
        what: 'x',
        timeoutMs: 10_000,
        evaluate: (n) => ({ done: n.every(isNodeReady), progress: '' }),
      }),
    ).rejects.toThrow(/injected 403/);
  });
});

describe('the kube client', () => {
  it('lists in pages so a big collection never arrives as one body', async () => {
    for (let i = 0; i < 1203; i++) api.create('nodes', node(`n${String(i).padStart(4, '0')}`, true));
    const list = await client.list('/api/v1/nodes');
    expect(list.items).toHaveLength(1203);
    expect(api.requests.map((r) => new URLSearchParams(r.query).get('limit'))).toEqual(['500', '500', '500']);
  });

  it('names the context it could not find and the ones that exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keystone-kc-'));
    const file = join(dir, 'config');
    await writeFile(file, stringify(kubeconfigFor(api.url, 'lab')));
    await expect(
      loadKubeClient(resolveTarget({ kubeconfig: findKubeconfigs(file, {}) }, 'keystone-cluster')),
    ).rejects.toThrow(`context "k3d-keystone-cluster" is not in ${file} (contexts: lab)`);
  });
});
