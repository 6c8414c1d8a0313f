/**
 * HTTPS to an API server whose kubeconfig gives its own CA, without Node 20 building its root
 * certificate store: `SecureContext::AddCACert` (nodejs/node src/crypto/crypto_context.cc) calls
 * `GetOrCreateRootCertStore()` for the first CA any context adds — parsing Node's ~140 bundled
 * roots, 24-45 ms here — only to compare it with the context's store, and there is no other way to
 * give OpenSSL a trusted CA (pfx and CRLs take the same path; `--use-openssl-ca` loads the
 * system's bundle instead). With `NODE_EXTRA_CA_CERTS` set, Node builds that store at start-up
 * anyway and none of this pays.
 *
 * So the first handshake runs with a context that trusts nothing (`ca: []`, which adds no CA and
 * no roots), and the connection is used only when this module positively accepts the server:
 * the plain shape k3s and kubeadm serve — a leaf certificate signed directly by one of the
 * kubeconfig's CAs, itself a self-signed CA — with every check OpenSSL and Node would make
 * (signature, issuer, validity, host name, purpose, key usage, allowed algorithms, no critical
 * extension it does not know, no name constraints). Anything else is never refused here: the
 * socket is closed before a byte of the request is written (the agent hands the socket to the
 * request only once accepted), and a second connection is made with the kubeconfig's CA given to
 * OpenSSL as usual, which refuses what it must. test/unit/ca-verified-agent.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { checkServerIdentity, connect, createSecureContext, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';

export interface CaTls {
  ca: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
}

/** An agent that trusts the kubeconfig's CA as described above, or undefined when no CA of it is a plain self-signed CA. */
export function caVerifiedAgent(tls: CaTls, options: AgentOptions): Agent | undefined {
  let anchors: X509Certificate[];
  try {
    anchors = pemCertificates(String(tls.ca)).map((pem) => new X509Certificate(pem)).filter(isPlainAnchor);
  } catch {
    return undefined; // not PEM that Node reads: OpenSSL says what is wrong
  }
  if (anchors.length === 0) return undefined;
  return new CaVerifiedAgent(anchors, tls, options);
}

/** For the tests: how many servers were accepted here, and how many handed to OpenSSL (and why the last one was). */
export const stats: { accepted: number; handedToOpenSsl: number; lastReason?: string } = { accepted: 0, handedToOpenSsl: 0 };

class CaVerifiedAgent extends Agent {
  private readonly bare: SecureContext;
  private full: SecureContext | undefined;
  private readonly pending = new Set<TLSSocket>();

  constructor(
    private readonly anchors: X509Certificate[],
    private readonly tls: CaTls,
    options: AgentOptions,
  ) {
    // No TLS session reuse: a resumed session would skip the check below.
    super({ ...options, maxCachedSessions: 0 });
    this.bare = createSecureContext({ ca: [], cert: tls.cert, key: tls.key });
  }

  // Node's http Agent waits for the callback when createConnection returns nothing (lib/_http_agent.js createSocket).
  override createConnection(options: ConnectionOptions, callback: (err: Error | null, socket?: Duplex) => void): undefined {
    const socket = connect({ ...options, secureContext: this.bare, rejectUnauthorized: false });
    this.pending.add(socket);
    const failed = (err: Error) => {
      this.pending.delete(socket);
      callback(err);
    };
    socket.once('error', failed);
    socket.once('secureConnect', () => {
      socket.off('error', failed);
      this.pending.delete(socket);
      // As Node's own check (lib/_tls_wrap.js onConnectSecure) picks the name.
      const host = options.servername || options.host || 'localhost';
      const why = notAccepted(socket, this.anchors, host);
      if (why === undefined) {
        stats.accepted++;
        callback(null, socket);
        return;
      }
      socket.destroy();
      stats.handedToOpenSsl++;
      stats.lastReason = why;
      this.full ??= createSecureContext({ ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key });
      callback(null, connect({ ...options, secureContext: this.full }));
    });
    return undefined;
  }

  override destroy(): void {
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    super.destroy();
  }
}

function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

const serverAuth = '1.3.6.1.5.5.7.3.1';

/** Why this module does not accept the server itself (OpenSSL is then asked), or undefined when it does. */
function notAccepted(socket: TLSSocket, anchors: X509Certificate[], host: string): string | undefined {
  if (socket.isSessionReused()) return 'a resumed session';
  // Read before getPeerX509Certificate(): in Node 20.20, after that call getPeerCertificate()
  // returns an empty object (tried here), and every host name check would fail.
  const legacy = socket.getPeerCertificate();
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return 'no certificate';
  const anchor = anchors.find((a) => leaf.checkIssued(a) && leaf.verify(a.publicKey));
  if (!anchor) return 'not signed directly by a CA of the kubeconfig';
  if (!current(leaf) || !current(anchor)) return 'outside its validity period';
  if (!strongKey(leaf)) return 'a key type or size this check does not accept';
  if (checkServerIdentity(host, legacy) !== undefined) return `not for ${host}`;
  if (leaf.keyUsage !== undefined && !leaf.keyUsage.includes(serverAuth)) return 'not for TLS servers'; // Node's keyUsage is the extended key usage
  const fields = certificateFields(leaf.raw);
  if (!fields) return 'not read cleanly';
  if (!allowedSignature(fields.signatureAlgorithm)) return `signature algorithm ${fields.signatureAlgorithm}`;
  if (!knownCritical(fields)) return 'a critical extension this check does not read';
  // OpenSSL's SSL server purpose: a key usage, when present, must allow a TLS server's key use.
  const ku = fields.extensions.get(keyUsageOid)?.value;
  if (ku !== undefined && !keyUsageAllowsServer(ku)) return 'its key usage';
  return undefined;
}

function isPlainAnchor(ca: X509Certificate): boolean {
  if (!ca.ca || !ca.checkIssued(ca) || !ca.verify(ca.publicKey) || !strongKey(ca)) return false;
  const fields = certificateFields(ca.raw);
  if (!fields || !knownCritical(fields)) return false;
  // Constraints on what the CA may sign are OpenSSL's to apply.
  return !constraintOids.some((oid) => fields.extensions.has(oid));
}

const current = (c: X509Certificate) => {
  const now = Date.now();
  return Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
};

function strongKey(c: X509Certificate): boolean {
  const key = c.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return ['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '');
  if (key.asymmetricKeyType === 'rsa') return (details.modulusLength ?? 0) >= 2048;
  return key.asymmetricKeyType === 'ed25519';
}

const keyUsageOid = '2.5.29.15';
/** Critical extensions this check understands (anything else critical: OpenSSL decides). */
const understood = new Set([keyUsageOid, '2.5.29.19', '2.5.29.37', '2.5.29.17']);
/** Name constraints, policy constraints, inhibit any-policy. */
const constraintOids = ['2.5.29.30', '2.5.29.36', '2.5.29.54'];
/** ECDSA with SHA-256/384/512, RSA PKCS#1 v1.5 with SHA-256/384/512, Ed25519. */
const signatureOids = new Set(['1.2.840.10045.4.3.2', '1.2.840.10045.4.3.3', '1.2.840.10045.4.3.4', '1.2.840.113549.1.1.11', '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13', '1.3.101.112']);

const allowedSignature = (oid: string) => signatureOids.has(oid);
const knownCritical = (fields: CertificateFields) => [...fields.extensions].every(([oid, e]) => !e.critical || understood.has(oid));

/** digitalSignature, keyEncipherment or keyAgreement (OpenSSL's check_purpose_ssl_server). */
function keyUsageAllowsServer(value: Buffer): boolean {
  const bits = readTlv(value, 0); // BIT STRING: unused-bit count, then the bits
  if (!bits || bits.tag !== 0x03 || bits.end - bits.start < 2) return false;
  return (value[bits.start + 1]! & (0x80 | 0x20 | 0x08)) !== 0;
}

// ---- the few DER fields Node's X509Certificate does not expose ---------------------------------

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, at: number): Tlv | undefined {
  if (at + 2 > buf.length) return undefined;
  const tag = buf[at]!;
  let length = buf[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + length;
  return end <= buf.length ? { tag, start, end } : undefined;
}

function children(buf: Buffer, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const tlv = readTlv(buf, at);
    if (!tlv || tlv.end > parent.end) return undefined;
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

function oidText(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

interface CertificateFields {
  signatureAlgorithm: string;
  extensions: Map<string, { critical: boolean; value: Buffer }>;
}

/** The issuer's signature algorithm and the extensions of a DER certificate; undefined if it is not read cleanly. */
export function certificateFields(der: Buffer): CertificateFields | undefined {
  const cert = readTlv(der, 0);
  const top = cert && cert.tag === 0x30 ? children(der, cert) : undefined;
  if (!top || top.length !== 3 || top[0]!.tag !== 0x30 || top[1]!.tag !== 0x30) return undefined;
  const algorithm = children(der, top[1]!)?.[0];
  if (!algorithm || algorithm.tag !== 0x06) return undefined;
  const tbs = children(der, top[0]!);
  if (!tbs) return undefined;
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  const wrapper = tbs.find((t) => t.tag === 0xa3); // [3] EXPLICIT Extensions
  if (wrapper) {
    const list = children(der, wrapper)?.[0];
    const items = list && list.tag === 0x30 ? children(der, list) : undefined;
    if (!items) return undefined;
    for (const item of items) {
      const parts = item.tag === 0x30 ? children(der, item) : undefined;
      if (!parts || parts.length < 2 || parts[0]!.tag !== 0x06) return undefined;
      const oid = oidText(der.subarray(parts[0]!.start, parts[0]!.end));
      const critical = parts.length === 3 && parts[1]!.tag === 0x01 && der[parts[1]!.start] !== 0;
      const value = parts[parts.length - 1]!;
      if (value.tag !== 0x04 || extensions.has(oid)) return undefined; // OpenSSL refuses a repeated extension
      extensions.set(oid, { critical, value: der.subarray(value.start, value.end) });
    }
  }
  return { signatureAlgorithm: oidText(der.subarray(algorithm.start, algorithm.end)), extensions };
}
