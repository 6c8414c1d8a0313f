// A k3d cluster's API speaks HTTPS and takes the client certificate k3d writes into the
// kubeconfig (certificate-authority-data, client-certificate-data, client-key-data). keystone
// reads those entries itself (src/kube/direct-connection.ts); this runs it against such a server.
import { afterEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('an API server over TLS with client certificates', () => {
  it('setup writes the certificate entries, and status and pods reach the server with them', async () => {
    h = await createHarness({ tls: true });
    const setup = await h.run(['setup']);
    expect(setup.exitCode, setup.stderr).toBe(0);
    const kubeconfig = parse(await readFile(h.kubeconfig, 'utf8'));
    const cluster = kubeconfig.clusters.find((c: { name: string }) => c.name === 'k3d-keystone-cluster').cluster;
    const user = kubeconfig.users.find((u: { name: string }) => u.name === 'admin@k3d-keystone-cluster').user;
    expect(cluster.server).toMatch(/^https:/);
    expect(cluster['certificate-authority-data']).toBeTruthy();
    expect(Object.keys(user).sort()).toEqual(['client-certificate-data', 'client-key-data']);

    const status = await h.run(['status', '-o', 'json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).api).toMatchObject({ reachable: true, server: h.api.url });
    const pods = await h.run(['pods', '-o', 'json']);
    expect(pods.exitCode, pods.stderr).toBe(0);
    expect(JSON.parse(pods.stdout).length).toBeGreaterThan(0);
  }, 90_000);

  it('a kubeconfig without the client certificate is refused by the server, and keystone says it cannot connect', async () => {
    h = await createHarness({ tls: true });
    expect((await h.run(['setup'])).exitCode).toBe(0);
    const { writeFile } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    const kubeconfig = parse(await readFile(h.kubeconfig, 'utf8'));
    for (const u of kubeconfig.users) u.user = { token: 'not-a-certificate' };
    await writeFile(h.kubeconfig, stringify(kubeconfig), { mode: 0o600 });
    const r = await h.run(['pods', '--timeout', '10s']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/error: .*(cannot reach|connect|socket|TLS|certificate)/i);
  }, 90_000);
});
