// keystone's own reading of common kubeconfig entries must give exactly what client-node's
// KubeConfig gives (server, CA, client certificate and key, token, TLS verification, server
// name), and must decline what it does not handle so that client-node handles it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { directConnection } from '../../src/kube/direct-connection.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
let dir = '';

function doc(cluster: Record<string, unknown>, user: Record<string, unknown>) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
  };
}

async function viaClientNode(document: Record<string, unknown>) {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(document));
  kc.setCurrentContext('ctx');
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as Parameters<typeof kc.applyToHTTPSOptions>[0]);
  return summary(kc.getCurrentCluster()?.server, opts);
}

/** What a connection is made with: the server, TLS material as text, verification, auth header. */
function summary(server: string | undefined, o: Record<string, unknown>) {
  return {
    server,
    ca: o.ca ? String(o.ca) : undefined,
    cert: o.cert ? String(o.cert) : undefined,
    key: o.key ? String(o.key) : undefined,
    rejectUnauthorized: o.rejectUnauthorized,
    servername: o.servername,
    authorization: (o.headers as Record<string, string> | undefined)?.Authorization,
  };
}

async function viaKeystone(document: Record<string, unknown>) {
  const direct = await directConnection(document);
  return direct ? summary(direct.server, direct.options as Record<string, unknown>) : undefined;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystone-direct-'));
  await writeFile(join(dir, 'ca.crt'), 'CA FROM FILE');
  await writeFile(join(dir, 'client.crt'), 'CERT FROM FILE');
  await writeFile(join(dir, 'client.key'), 'KEY FROM FILE');
  await writeFile(join(dir, 'token'), 'token-from-file');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('files a kubeconfig names that cannot be read', () => {
  it('reject with the first of them (the CA), and leave no read unhandled', async () => {
    const missing = (name: string) => join(dir, 'missing', name);
    const document = doc(
      { server: 'https://h:6443', 'certificate-authority': missing('ca.crt') },
      { 'token-file': missing('token') },
    );
    // An unhandled rejection of the CA read would fail this test file (vitest reports it).
    await expect(directConnection(document)).rejects.toMatchObject({ code: 'ENOENT', path: missing('ca.crt') });
  });
});

describe('direct kubeconfig reading agrees with client-node', () => {
  const handled: Array<[string, () => Record<string, unknown>]> = [
    // k3d v5 writes inline CA and client certificate data (pkg/client/kubeconfig.go KubeconfigGet).
    [
      'k3d: inline CA, client certificate and key',
      () =>
        doc(
          { server: 'https://0.0.0.0:6443', 'certificate-authority-data': b64('CA') },
          { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        ),
    ],
    // kind writes the same shape (pkg/cluster/internal/kubeconfig).
    [
      'kind: trailing slash on the server',
      () =>
        doc(
          { server: 'https://127.0.0.1:39999/', 'certificate-authority-data': b64('KIND CA') },
          { 'client-certificate-data': b64('C'), 'client-key-data': b64('K') },
        ),
    ],
    [
      'files for CA, certificate and key',
      () =>
        doc(
          { server: 'https://h:6443', 'certificate-authority': join(dir, 'ca.crt') },
          { 'client-certificate': join(dir, 'client.crt'), 'client-key': join(dir, 'client.key') },
        ),
    ],
    [
      'a file wins over inline data',
      () =>
        doc(
          {
            server: 'https://h:6443',
            'certificate-authority': join(dir, 'ca.crt'),
            'certificate-authority-data': b64('INLINE'),
          },
          { token: 't' },
        ),
    ],
    [
      'a bearer token',
      () => doc({ server: 'https://h:6443', 'certificate-authority-data': b64('CA') }, { token: 'sekrit' }),
    ],
    ['a token file', () => doc({ server: 'https://h:6443' }, { 'token-file': join(dir, 'token') })],
    [
      'token wins over token-file',
      () => doc({ server: 'https://h:6443' }, { token: 'inline', 'token-file': join(dir, 'token') }),
    ],
    [
      'insecure-skip-tls-verify and a TLS server name',
      () =>
        doc(
          { server: 'https://h:6443', 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes' },
          { token: 't' },
        ),
    ],
    [
      'plain HTTP with TLS verification off and no user fields',
      () => doc({ server: 'http://127.0.0.1:8001', 'insecure-skip-tls-verify': true }, {}),
    ],
  ];
  for (const [name, make] of handled) {
    it(name, async () => {
      const document = make();
      const mine = await viaKeystone(document);
      expect(mine).toBeDefined();
      expect(mine).toEqual(await viaClientNode(document));
    });
  }

  const declined: Array<[string, Record<string, unknown>]> = [
    [
      'EKS: exec plugin',
      doc(
        { server: 'https://eks', 'certificate-authority-data': b64('CA') },
        { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['eks', 'get-token'] } },
      ),
    ],
    ['GKE (old): auth-provider', doc({ server: 'https://gke' }, { 'auth-provider': { name: 'gcp', config: {} } })],
    ['basic auth', doc({ server: 'https://h' }, { username: 'admin', password: 'pw' })],
    ['impersonation', doc({ server: 'https://h' }, { token: 't', as: 'someone' })],
    ['a proxy', doc({ server: 'https://h', 'proxy-url': 'http://proxy:3128' }, { token: 't' })],
    [
      'plain HTTP with TLS verification on (client-node refuses it)',
      doc({ server: 'http://127.0.0.1:8001' }, { token: 't' }),
    ],
    ['a key this reader does not know', doc({ server: 'https://h', 'disable-compression': true }, { token: 't' })],
  ];
  for (const [name, document] of declined) {
    it(`leaves to client-node: ${name}`, async () => {
      expect(await directConnection(document)).toBeUndefined();
    });
  }
});
