// src/kube/ca-verified-agent.ts: it may only accept a server signed by the kubeconfig's CA in the
// plain k3s shape; anything else goes to OpenSSL (a second connection with the CA given as usual),
// which refuses what it must — and no request is sent on a connection that was not accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Agent, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { fakeApiCertificates } from '../fakes/tls.mjs';
import { caVerifiedAgent, certificateFields, stats } from '../../src/kube/ca-verified-agent.js';

const certs = fakeApiCertificates();
const dir = mkdtempSync(join(tmpdir(), 'keystone-ca-agent-'));
const f = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const read = (name: string) => readFileSync(f(name), 'utf8');
const key = (name: string) => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(name));
function selfSignedCa(name: string, extra: string[] = []) {
  key(`${name}.key`);
  openssl('req', '-x509', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${name}`, '-days', '30', '-out', f(`${name}.crt`), ...extra);
}
function issue(name: string, ca: string, ext: string) {
  key(`${name}.key`);
  openssl('req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${name}`, '-out', f(`${name}.csr`));
  writeFileSync(f(`${name}.ext`), ext);
  openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.crt`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-days', '30', '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`));
}
const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';

interface Served {
  url: string;
  requests: number;
  server: Server;
}
const servers: Served[] = [];
async function serve(cert: string, serverKey: string): Promise<Served> {
  const served: Served = { url: '', requests: 0, server: undefined as unknown as Server };
  served.server = createServer({ cert, key: serverKey, ca: certs.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    served.requests++;
    res.end((req.socket as import('node:tls').TLSSocket).authorized ? 'hello' : 'no client certificate');
  });
  await new Promise<void>((r) => served.server.listen(0, '127.0.0.1', r));
  served.url = `https://127.0.0.1:${(served.server.address() as AddressInfo).port}/`;
  servers.push(served);
  return served;
}

function get(url: string, agent: Agent | undefined, extra: { servername?: string } = {}): Promise<{ body?: string; code?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent, ...extra, ...(agent ? {} : { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ body }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code }));
    req.end();
  });
}

const agentFor = (ca: string) => caVerifiedAgent({ ca, cert: certs.clientCert, key: certs.clientKey }, { keepAlive: true });

let k3sLike: Served;
beforeAll(async () => {
  k3sLike = await serve(certs.serverCert, certs.serverKey);
});
afterAll(() => {
  for (const s of servers) s.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the CA-verified agent', () => {
  it('accepts the k3s shape itself, with the client certificate, on one connection', async () => {
    const agent = agentFor(certs.ca)!;
    expect(agent).toBeDefined();
    const before = { ...stats };
    expect(await get(k3sLike.url, agent)).toEqual({ body: 'hello' });
    expect(await get(k3sLike.url, agent)).toEqual({ body: 'hello' });
    expect(stats.lastReason).toBeUndefined();
    expect(stats.accepted - before.accepted).toBe(1); // kept alive: one handshake for both
    expect(stats.handedToOpenSsl).toBe(before.handedToOpenSsl);
    agent.destroy();
  });

  it('refuses a server signed by another CA exactly as Node does, and sends it nothing', async () => {
    selfSignedCa('other-ca');
    issue('impostor', 'other-ca', serverExt);
    const impostor = await serve(read('impostor.crt'), read('impostor.key'));
    const agent = agentFor(certs.ca)!;
    const before = { ...stats };
    const ours = await get(impostor.url, agent);
    const nodes = await get(impostor.url, undefined);
    expect(nodes.code).toBeDefined();
    expect(ours).toEqual(nodes);
    expect(impostor.requests).toBe(0);
    expect(stats.handedToOpenSsl - before.handedToOpenSsl).toBe(1);
    expect(stats.accepted).toBe(before.accepted);
    agent.destroy();
  });

  it('refuses a host name the certificate does not name, as Node does, and sends nothing', async () => {
    const before = { ...stats };
    const agent = agentFor(certs.ca)!;
    const ours = await get(k3sLike.url.replace('127.0.0.1', 'localhost'), agent, { servername: 'api.example.com' });
    const nodes = await get(k3sLike.url.replace('127.0.0.1', 'localhost'), undefined, { servername: 'api.example.com' });
    expect(nodes.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(ours).toEqual(nodes);
    expect(stats.handedToOpenSsl - before.handedToOpenSsl).toBe(1);
    agent.destroy();
  });

  it('leaves other shapes to OpenSSL, which accepts them when they are valid (an intermediate CA, a critical extension it does not know)', async () => {
    selfSignedCa('root');
    writeFileSync(f('inter.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    key('inter.key');
    openssl('req', '-new', '-key', f('inter.key'), '-subj', '/CN=inter', '-out', f('inter.csr'));
    openssl('x509', '-req', '-in', f('inter.csr'), '-CA', f('root.crt'), '-CAkey', f('root.key'), '-CAcreateserial', '-days', '30', '-extfile', f('inter.ext'), '-out', f('inter.crt'));
    issue('chained', 'inter', serverExt);
    const chained = await serve(read('chained.crt') + read('inter.crt'), read('chained.key'));
    const agent = agentFor(read('root.crt'))!;
    const before = { ...stats };
    expect(await get(chained.url, agent)).toEqual({ body: 'hello' });
    expect(stats.handedToOpenSsl - before.handedToOpenSsl).toBe(1);
    expect(stats.accepted).toBe(before.accepted);
    agent.destroy();
    // A critical extension this module does not read (policy mappings here): OpenSSL's call.
    issue('odd', 'other-ca', `${serverExt}certificatePolicies=critical,1.2.3.4\n`);
    expect(certificateFields(new X509Certificate(read('odd.crt')).raw)?.extensions.get('2.5.29.32')?.critical).toBe(true);
    const odd = await serve(read('odd.crt'), read('odd.key'));
    const oddAgent = agentFor(read('other-ca.crt'))!;
    const before2 = { ...stats };
    const ours = await get(odd.url, oddAgent);
    expect(stats.handedToOpenSsl - before2.handedToOpenSsl).toBe(1);
    expect(stats.accepted).toBe(before2.accepted);
    expect(ours.body ?? ours.code).toBeDefined();
    oddAgent.destroy();
  });

  it('is not used when no CA of the kubeconfig is a self-signed CA (the server certificate itself given as CA)', () => {
    expect(agentFor(certs.serverCert)).toBeUndefined();
    expect(agentFor('not a certificate')).toBeUndefined();
  });

  it('reads the fields of the fake k3s certificates as openssl wrote them', () => {
    const leaf = certificateFields(new X509Certificate(certs.serverCert).raw)!;
    expect(leaf.signatureAlgorithm).toBe('1.2.840.10045.4.3.2'); // ecdsa-with-SHA256
    expect([...leaf.extensions.keys()]).toEqual(expect.arrayContaining(['2.5.29.17', '2.5.29.37']));
    const ca = certificateFields(new X509Certificate(certs.ca).raw)!;
    expect(ca.extensions.get('2.5.29.19')?.critical).toBe(true); // basicConstraints CA:TRUE, critical
  });
});
