// Certificates for serving the fake API over HTTPS the way a k3d cluster does: a private CA, a
// server certificate for 127.0.0.1, and a client certificate in group system:masters (k3s issues
// its admin client cert as CN=system:admin, O=system:masters; k3d copies it, base64-encoded, into
// the kubeconfig as client-certificate-data/client-key-data). Node has no API to issue X.509
// certificates, so this uses the openssl command line (argv only, no shell).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** @type {{ ca: string, serverCert: string, serverKey: string, clientCert: string, clientKey: string } | undefined} */
let cached;

/**
 * In a test run's own temporary directory (test/helpers/global-setup.ts, removed when the run
 * ends), the certificates are made once for all its workers: seven openssl starts per worker cost
 * about a fifth of a second of the suite's CPU each time.
 */
const shared = () =>
  basename(tmpdir()).startsWith('keystone-suite-') ? join(tmpdir(), 'fake-api-certificates.json') : undefined;

/** PEM strings for the CA, server and client; generated once per process (or per test run). */
export function fakeApiCertificates() {
  if (cached) return cached;
  const file = shared();
  if (file && existsSync(file)) return (cached = JSON.parse(readFileSync(file, 'utf8')));
  cached = generateCertificates();
  if (file) {
    // Whole or not at all for a worker reading it meanwhile; two workers making their own is harmless.
    writeFileSync(`${file}.${process.pid}`, JSON.stringify(cached));
    renameSync(`${file}.${process.pid}`, file);
  }
  return cached;
}

function generateCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'keystone-tls-'));
  const f = (name) => join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    // EC P-256 keys, as k3s uses: quick to generate and to handshake.
    const key = (name) => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(name));
    key('ca.key');
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      f('ca.key'),
      '-subj',
      '/CN=k3s-server-ca',
      '-days',
      '3650',
      '-out',
      f('ca.crt'),
    );
    const issue = (name, subject, ext) => {
      key(`${name}.key`);
      openssl('req', '-new', '-key', f(`${name}.key`), '-subj', subject, '-out', f(`${name}.csr`));
      writeFileSync(f(`${name}.ext`), ext);
      openssl(
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        f('ca.crt'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-days',
        '3650',
        '-extfile',
        f(`${name}.ext`),
        '-out',
        f(`${name}.crt`),
      );
    };
    issue('server', '/CN=k3s', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    issue('client', '/O=system:masters/CN=system:admin', 'extendedKeyUsage=clientAuth\n');
    const read = (name) => readFileSync(f(name), 'utf8');
    return {
      ca: read('ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (pem) => Buffer.from(pem).toString('base64');

/** The kubeconfig cluster and user entries k3d writes for a TLS server (see k3d pkg/client/kubeconfig.go). */
export function tlsKubeconfigEntries(certs) {
  return {
    cluster: { 'certificate-authority-data': b64(certs.ca) },
    user: { 'client-certificate-data': b64(certs.clientCert), 'client-key-data': b64(certs.clientKey) },
  };
}
