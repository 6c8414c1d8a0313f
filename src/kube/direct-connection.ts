/**
 * How to reach the API server for the common kubeconfig entries (a CA, client certificates, a
 * bearer token, insecure-skip-tls-verify), read without @kubernetes/client-node: compiling its
 * KubeConfig costs every command that talks to a cluster ~45 ms. Anything else (exec plugins,
 * auth providers, basic auth, impersonation, proxies, keys this module does not know) returns
 * undefined, and the caller falls back to client-node. test/unit/direct-connection.test.ts holds
 * the two to the same result over a corpus of kubeconfigs.
 */
// Synchronous reads of small local files: cheaper than loading Node's fs/promises, which
// every TAB would pay for (docs/performance.md).
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';

/** Keys this module handles exactly as client-node's KubeConfig.applyToHTTPSOptions does. */
const clusterKeys = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);
const userKeys = new Set([
  'token',
  'token-file',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'extensions',
]);

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * A file's text. Async although the read is not: in the Promise.all below, a read that throws
 * while the list is being built would leave the reads before it rejected and unhandled.
 */
async function fileText(path: string): Promise<string> {
  return readFileSync(path, 'utf8');
}

/** client-node's bufferFromFileOrString: the file wins over the inline base64 data. */
async function fileOrData(file: unknown, data: unknown): Promise<Buffer | undefined> {
  const path = str(file);
  if (path) return readFileSync(path);
  const inline = str(data);
  return inline ? Buffer.from(inline, 'base64') : undefined;
}

export interface DirectConnection {
  server: string;
  options: RequestOptions;
}

/**
 * The server and TLS/auth request options for a one-context kubeconfig document (as
 * kubeconfig/load.ts's selectContext builds it: paths already absolute), or undefined when
 * client-node must handle the entry.
 */
export async function directConnection(document: Mapping): Promise<DirectConnection | undefined> {
  const cluster = (document.clusters as Mapping[] | undefined)?.[0]?.cluster;
  const user = (document.users as Mapping[] | undefined)?.[0]?.user ?? {};
  if (!isMapping(cluster) || !isMapping(user)) return undefined;
  if (Object.keys(cluster).some((k) => !clusterKeys.has(k)) || Object.keys(user).some((k) => !userKeys.has(k)))
    return undefined;
  const server = str(cluster.server);
  if (!server) return undefined;
  // client-node refuses plain HTTP unless TLS verification is off ("HTTP protocol is not allowed
  // when skipTLSVerify is not set or false"): leave that case to it, so the refusal stays the same.
  if (server.startsWith('http:') && cluster['insecure-skip-tls-verify'] !== true) return undefined;
  const options: RequestOptions = {};
  if (cluster['insecure-skip-tls-verify'] === true) options.rejectUnauthorized = false;
  const servername = str(cluster['tls-server-name']);
  if (servername) options.servername = servername;
  const [ca, cert, key, tokenFromFile] = await Promise.all([
    fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']),
    fileOrData(user['client-certificate'], user['client-certificate-data']),
    fileOrData(user['client-key'], user['client-key-data']),
    str(user.token) ? undefined : str(user['token-file']) ? fileText(str(user['token-file'])!) : undefined,
  ]);
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  const token = str(user.token) ?? tokenFromFile;
  options.headers = token ? { Authorization: `Bearer ${token}` } : {};
  return { server: server.replace(/\/$/, ''), options };
}
