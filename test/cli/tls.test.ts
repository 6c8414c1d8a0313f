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

  it("a server whose certificate the kubeconfig's CA did not sign is refused, and is sent no request", async () => {
    h = await createHarness({ tls: true });
    expect((await h.run(['setup'])).exitCode).toBe(0);
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const { execFileSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { stringify } = await import('yaml');
    // Another CA, as a kubeconfig left over from an older cluster would hold.
    const dir = await mkdtemp(join(tmpdir(), 'keystone-other-ca-'));
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ca.key')], {
      stdio: 'ignore',
    });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-key',
        join(dir, 'ca.key'),
        '-subj',
        '/CN=k3s-server-ca',
        '-days',
        '30',
        '-out',
        join(dir, 'ca.crt'),
      ],
      { stdio: 'ignore' },
    );
    const otherCa = await readFile(join(dir, 'ca.crt'));
    await rm(dir, { recursive: true, force: true });
    const kubeconfig = parse(await readFile(h.kubeconfig, 'utf8'));
    for (const c of kubeconfig.clusters) c.cluster['certificate-authority-data'] = otherCa.toString('base64');
    await writeFile(h.kubeconfig, stringify(kubeconfig), { mode: 0o600 });
    const before = h.api.requests.length;
    for (const args of [
      ['pods', '--timeout', '10s'],
      ['__complete', '--', 'scale', ''],
    ]) {
      const r = await h.run(args);
      if (args[0] === 'pods') {
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(/error: .*(certificate|verify)/i);
      } else expect(r.stdout).toBe(':plain'); // completion: no names, quietly
    }
    expect(h.api.requests.length).toBe(before);
  }, 90_000);
});
