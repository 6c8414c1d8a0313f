// The fake API server with a real KubeClient for it (through a kubeconfig file, as keystone reads
// one), for unit tests that drive keystone's Kubernetes code directly. `stop` closes both.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startFakeKubeApi } from '../fakes/kube-api-server.mjs';
import { loadKubeClient, type KubeClient } from '../../src/kube/client.js';
import { resolveTarget } from '../../src/kube/target.js';
import { findKubeconfigs } from '../../src/kube/kubeconfig/files.js';

export type FakeApi = Awaited<ReturnType<typeof startFakeKubeApi>>;

/** Starts the fake API (plain HTTP with a token, or TLS with a client certificate) and a client for it. */
export async function startApiWithClient(
  tls = false,
): Promise<{ api: FakeApi; client: KubeClient; stop: () => Promise<void> }> {
  const api = await startFakeKubeApi({ tls });
  const dir = await mkdtemp(join(tmpdir(), 'keystone-kc-'));
  const file = join(dir, 'config');
  const { cluster, user } = api.kubeconfigEntries;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lab', cluster }],
    users: [{ name: 'lab', user }],
    contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'lab' } }],
    'current-context': 'lab',
  };
  await writeFile(file, stringify(kubeconfig), { mode: 0o600 });
  const client = await loadKubeClient(
    resolveTarget({ kubeconfig: findKubeconfigs(file, {}), context: 'lab' }, 'keystone-cluster'),
  );
  const stop = async () => {
    client.close();
    await api.close();
  };
  return { api, client, stop };
}
