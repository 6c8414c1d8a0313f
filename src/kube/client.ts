/**
 * THE Kubernetes seam. @kubernetes/client-node owns kubeconfig loading (KUBECONFIG lists,
 * exec plugins, tokens, client certificates, TLS); keystone makes the REST calls itself over
 * node:http(s) with those options, so each operation is exactly the requests it needs
 * (no discovery, no GET before PATCH) and large lists stream through pagination.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext } from 'node:tls';
import { defaultKubeconfigFile, looseMode } from './kubeconfig/files.js';
import { loadKubeconfigs, selectContext, type ContextSelection } from './kubeconfig/load.js';
import { directConnection, type DirectConnection } from './direct-connection.js';
import { InterruptedError, KeystoneError } from '../errors.js';
import { withRetries } from '../retry.js';
import { systemClock, type Clock } from '../clock.js';
import type { KubeTarget } from './target.js';
import type { KubeObject } from './objects.js';

export interface KubeList<T extends KubeObject = KubeObject> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface KubeStatus {
  kind: 'Status';
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; causes?: { type?: string; message?: string; field?: string }[] };
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RequestSpec {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** A list repeats the parameter (exec's command=tar&command=-x). */
  query?: Record<string, string | number | boolean | string[] | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /**
   * Retry 429 and 5xx answers with backoff and jitter (bounded). Default: only for GET.
   * Safe for reads and apply patches; never set it for a create.
   */
  retry?: boolean;
  /** A long-lived stream (watch, log follow): no idle deadline, it may be quiet for hours. */
  streaming?: boolean;
  /**
   * Undoing what was half-done (deleting a helper pod, cancelling a run on Ctrl-C): Ctrl-C, which
   * is what it cleans up after, gives it 2 s more (cleanupGraceMs) instead of cancelling it.
   */
  cleanup?: boolean;
}

const retryDelaysMs = [200, 600, 1500];

/**
 * How long a cleanup request may still take once Ctrl-C came: enough for a DELETE that is
 * answered in milliseconds, short enough that Ctrl-C still ends the command within seconds when
 * the API does not answer (the thing left behind is then named by the caller).
 */
const cleanupGraceMs = 2000;

/** A signal that aborts `ms` after `signal` does. */
function graceAfter(signal: AbortSignal, ms: number): AbortSignal {
  const later = new AbortController();
  const start = () => setTimeout(() => later.abort(), ms).unref();
  if (signal.aborted) start();
  else signal.addEventListener('abort', start, { once: true });
  return later.signal;
}

function isRetryable(err: unknown): boolean {
  return err instanceof KubeApiError && (err.statusCode === 429 || (err.statusCode >= 500 && err.statusCode !== 501));
}

export interface WatchHandle {
  /** Resolves when the stream ends (server closed it, or stop() was called). */
  done: Promise<void>;
  stop(): void;
}

export interface ByteStream {
  body: AsyncIterable<Buffer>;
  stop(): void;
}

export interface KubeClient {
  readonly target: KubeTarget;
  readonly server: string;
  /** Closes the kept-alive connections, so a finished command exits at once. */
  close(): void;
  /** A streaming GET (pod logs): the body as it arrives; throws KubeApiError for non-2xx. */
  stream(spec: RequestSpec): Promise<ByteStream>;
  request<T>(spec: RequestSpec): Promise<T>;
  /**
   * Where and how to open a connection that is not a plain request (a WebSocket upgrade for
   * pods/exec): the URL and the same TLS, client-certificate and token options every request uses.
   */
  connectionFor(path: string, query?: RequestSpec['query']): { url: URL; options: RequestOptions };
  /** A list of every page (limit/continue), so big collections never arrive as one huge body. */
  /** `signal` cancels the list, retries included. */
  list<T extends KubeObject>(path: string, query?: RequestSpec['query'], signal?: AbortSignal): Promise<KubeList<T>>;
  /** `signal` cancels the watch even while it is being opened. */
  watch<T extends KubeObject>(
    path: string,
    query: RequestSpec['query'],
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
  ): Promise<WatchHandle>;
}

export class KubeApiError extends KeystoneError {
  constructor(
    readonly statusCode: number,
    readonly status: KubeStatus | undefined,
    readonly method: string,
    readonly path: string,
  ) {
    super(status?.message ?? `${method} ${path} returned HTTP ${statusCode}`, {
      hint: hintForStatus(statusCode),
    });
  }

  get reason(): string | undefined {
    return this.status?.reason;
  }
}

function hintForStatus(code: number): string | undefined {
  if (code === 401)
    return 'your credentials for this cluster were refused: for the keystone cluster `keystone setup` writes its current ones into your kubeconfig; for another context, refresh its kubeconfig entry';
  if (code === 403) return 'your user lacks permission for this; check the RBAC of the context you chose';
  if (code === 404) return undefined;
  if (code >= 500) return 'the API server had a problem; retry, or look at the server logs';
  return undefined;
}

export interface ClientSettings {
  log?: (line: string) => void;
  verbose?: boolean;
  warn?: (line: string) => void;
  /** The longest one attempt may wait for an answer (for a stream: for its headers). */
  requestTimeoutMs?: number;
  /**
   * The command's overall deadline (epoch ms), if it has one: no attempt outlasts it and no retry
   * pause crosses it. Read at each request, so a command can set it after the client exists.
   */
  deadline?: () => { at: number; label: string } | undefined;
  /** Time for the waits between retries. */
  clock?: Clock;
  /**
   * Ctrl-C (the app's signal): every request, list, watch, stream and retry pause of the command
   * ends at once when it aborts, with an InterruptedError, unless the request is a `cleanup`.
   */
  signal?: AbortSignal;
}

/** The command's deadline passed while waiting for the API: exit 1, saying which limit it was. */
export class KubeDeadlineError extends KeystoneError {}

export async function loadKubeClient(target: KubeTarget, settings: ClientSettings = {}): Promise<KubeClient> {
  // kubectl's loading rules (missing files skipped, empty files allowed, first entry wins),
  // so keystone sees the same contexts kubectl does; see kubeconfig/load.ts.
  const { files, explicit } = target.kubeconfig;
  const merged = await loadKubeconfigs(files, { explicit: Boolean(explicit) });
  const selected = selectContext(merged, target.context, {
    repair: target.local
      ? `run \`keystone setup\`: it creates the cluster if needed and writes its context into ${await defaultKubeconfigFile(files)}`
      : 'pass --context with one of the contexts listed, or --kubeconfig FILE',
  });
  // Kubeconfigs hold credentials: say so when one is readable by other users.
  for (const file of settings.warn ? merged.read : []) {
    const mode = await looseMode(file);
    if (mode !== undefined)
      settings.warn?.(
        `kubeconfig ${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`,
      );
  }
  // Certificates, tokens and CAs are read directly; client-node's KubeConfig (slow to load) only
  // handles what that does not cover: exec plugins, auth providers, proxies.
  const connection = (await directConnectionOrThrow(target, selected)) ?? (await viaClientNode(target, selected));
  settings.log?.(`kubernetes: context ${target.context}, server ${connection.server}`);
  return createClient(target, connection.server, connection.options, settings);
}

function unusable(target: KubeTarget, selected: ContextSelection, err: unknown): KeystoneError {
  return new KeystoneError(
    `cannot use context "${target.context}" (cluster in ${selected.cluster.file}, user in ${selected.user.file}): ${firstLine(err)}`,
    {
      hint: target.local
        ? "run `keystone setup` to write the cluster's entries again"
        : 'repair the kubeconfig entries of that context',
    },
  );
}

async function directConnectionOrThrow(
  target: KubeTarget,
  selected: ContextSelection,
): Promise<DirectConnection | undefined> {
  try {
    return await directConnection(selected.document);
  } catch (err) {
    throw unusable(target, selected, err); // e.g. a certificate file that cannot be read
  }
}

async function viaClientNode(target: KubeTarget, selected: ContextSelection): Promise<DirectConnection> {
  const { KubeConfig } = await import('./kubeconfig/kube-config.js');
  const kc = new KubeConfig();
  try {
    // Only the chosen context, its cluster and its user: an unrelated broken entry elsewhere does not matter.
    kc.loadFromString(JSON.stringify(selected.document));
    // In memory only: the user's kubeconfig file and its current-context are never changed.
    kc.setCurrentContext(target.context);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('it has no usable cluster');
    const options: RequestOptions = {};
    await kc.applyToHTTPSOptions(options as Parameters<typeof kc.applyToHTTPSOptions>[0]);
    return { server: cluster.server, options };
  } catch (err) {
    throw unusable(target, selected, err);
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

function buildUrl(server: string, path: string, query: RequestSpec['query']): URL {
  const url = new URL(server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item);
    else if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url;
}

/**
 * One TLS context for all of a command's connections: without it Node parses the CA, certificate
 * and key again for every connection (tls.connect creates a context per socket), and `status`
 * opens five at once.
 */
function withSharedTlsContext(base: RequestOptions): RequestOptions {
  const { ca, cert, key, ...rest } = base as RequestOptions & { ca?: unknown; cert?: unknown; key?: unknown };
  if (ca === undefined && cert === undefined && key === undefined) return base;
  return {
    ...rest,
    secureContext: createSecureContext({ ca, cert, key } as Parameters<typeof createSecureContext>[0]),
  } as RequestOptions;
}

function createClient(
  target: KubeTarget,
  server: string,
  baseOptions: RequestOptions,
  settings: ClientSettings,
): KubeClient {
  // Our own agent (connections kept alive within a command), closed by close(): the global
  // agent's idle sockets would keep a finished command waiting for their timeout.
  const agent = server.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const base = server.startsWith('https:') ? withSharedTlsContext(baseOptions) : baseOptions;
  const perAttemptMs = settings.requestTimeoutMs ?? 30_000;
  const deadlineError = (label: string) =>
    new KubeDeadlineError(`the Kubernetes API at ${server} did not answer within ${label}`, {
      hint: 'raise --timeout, or check the cluster with `keystone status`',
    });
  /** How long the next attempt may take: the per-attempt limit, or less when the deadline is nearer. */
  const attemptLimit = (): { ms: number; byDeadline: boolean; label: string } => {
    const deadline = settings.deadline?.();
    if (!deadline) return { ms: perAttemptMs, byDeadline: false, label: '' };
    const left = deadline.at - Date.now();
    if (left <= 0) throw deadlineError(deadline.label); // the time is up before this request is even sent
    // At a tie (a request sent in the millisecond the command started, with --timeout under 30 s
    // both limits are the same) --timeout is the limit the user set, and the one to name.
    return left <= perAttemptMs
      ? { ms: left, byDeadline: true, label: deadline.label }
      : { ms: perAttemptMs, byDeadline: false, label: '' };
  };
  const send = (spec: RequestSpec): Promise<IncomingMessage> => {
    const url = buildUrl(server, spec.path, spec.query);
    const method = spec.method ?? 'GET';
    const headers: Record<string, string> = {
      ...(base.headers as Record<string, string> | undefined),
      Accept: 'application/json',
    };
    let payload: string | undefined;
    if (spec.body !== undefined) {
      payload = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
      headers['Content-Type'] = spec.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const limit = attemptLimit(); // throws when the deadline has passed, before anything is sent
    if (settings.verbose) settings.log?.(`${method} ${url.pathname}${url.search}`);
    const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      // Cancelling destroys the request or its response without an error: Node's own `signal`
      // option destroys them with an AbortError, which escapes as an uncaught exception when it
      // lands on a response that is being read.
      const signal = spec.signal;
      if (signal?.aborted) return reject(aborted());
      let response: IncomingMessage | undefined;
      const cancel = () => {
        if (response) response.destroy();
        else {
          req.destroy();
          reject(aborted());
        }
      };
      const req = requester(url, { ...base, agent, method, headers }, (res) => {
        response = res;
        res.on('close', () => signal?.removeEventListener('abort', cancel));
        resolve(res);
      });
      signal?.addEventListener('abort', cancel, { once: true });
      req.on('error', (err) => {
        signal?.removeEventListener('abort', cancel); // a retry loop must not pile listeners up
        clearTimeout(timer);
        reject(err instanceof KubeDeadlineError ? err : connectionError(err, server, target));
      });
      // One timer for the whole attempt (an idle timer would let a server that trickles bytes,
      // or one that waits before answering, hold the command past its --timeout): until the
      // headers for a stream, until the end of the body otherwise (readBody clears it).
      const timer = setTimeout(() => {
        const err = limit.byDeadline
          ? deadlineError(limit.label)
          : Object.assign(new Error(`no answer within ${Math.round(limit.ms / 1000)}s`), { code: 'ETIMEDOUT' });
        if (response) response.destroy(err);
        else req.destroy(err);
      }, limit.ms);
      timer.unref();
      req.on('response', (res) => {
        if (spec.streaming) clearTimeout(timer);
        else res.on('end', () => clearTimeout(timer)).on('close', () => clearTimeout(timer));
      });
      req.end(payload);
    });
  };

  /** Ctrl-C says so (exit 130); a request the code itself stopped (a watch ended) is a plain abort. */
  const aborted = () => (settings.signal?.aborted ? new InterruptedError() : new KeystoneError('request aborted'));
  /** The signal a request honours: its own and Ctrl-C's, unless it is a cleanup. */
  const withCtrlC = (spec: Pick<RequestSpec, 'signal' | 'cleanup'>): AbortSignal | undefined => {
    if (!settings.signal) return spec.signal;
    const ctrlC = spec.cleanup ? graceAfter(settings.signal, cleanupGraceMs) : settings.signal;
    return spec.signal ? AbortSignal.any([spec.signal, ctrlC]) : ctrlC;
  };

  const readBody = async (res: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (err) {
      throw err instanceof KeystoneError ? err : connectionError(err as Error, server, target);
    }
    return Buffer.concat(chunks).toString('utf8');
  };

  const requestOnce = async <T>(spec: RequestSpec): Promise<T> => {
    const res = await send(spec);
    const text = await readBody(res);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw new KubeApiError(code, parseStatus(text), spec.method ?? 'GET', spec.path);
    return (text ? JSON.parse(text) : {}) as T;
  };

  const streamOnce = async (spec: RequestSpec): Promise<ByteStream> => {
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort();
    spec.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const forget = () => spec.signal?.removeEventListener('abort', onOuterAbort);
    let res: IncomingMessage;
    try {
      res = await send({ ...spec, signal: controller.signal, streaming: true });
    } catch (err) {
      forget();
      throw err;
    }
    res.on('close', forget);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) {
      forget();
      throw new KubeApiError(code, parseStatus(await readBody(res)), 'GET', spec.path);
    }
    return { body: res, stop: () => controller.abort() };
  };

  /**
   * The one retry policy of reads (src/retry.ts): a 429 or 5xx is tried again after a pause,
   * unless the spec says no (a create); no pause crosses the command's deadline.
   */
  const retrying = <T>(spec: RequestSpec, attempt: () => Promise<T>): Promise<T> => {
    const retry = spec.retry ?? (spec.method ?? 'GET') === 'GET';
    const clock = settings.clock ?? systemClock;
    const result = withRetries(attempt, {
      delaysMs: retryDelaysMs,
      retryable: (err) => retry && isRetryable(err),
      tooLate: (waitMs) => {
        const deadline = settings.deadline?.();
        return deadline !== undefined && clock.now() + waitMs >= deadline.at;
      },
      onRetry: (err) =>
        settings.log?.(`retrying ${spec.method ?? 'GET'} ${spec.path} after ${(err as KubeApiError).statusCode}`),
      clock,
      jitter: true,
      signal: spec.signal,
    });
    // A retry pause ended by Ctrl-C: the command stops, not with the error before the pause.
    return result.catch((err: unknown) => {
      if (spec.signal?.aborted && !(err instanceof InterruptedError) && settings.signal?.aborted && !spec.cleanup)
        throw new InterruptedError();
      throw err;
    });
  };

  const client: KubeClient = {
    target,
    server,
    close: () => agent.destroy(),
    connectionFor: (path, query) => ({
      url: buildUrl(server, path, query),
      options: { ...base, headers: { ...(base.headers as Record<string, string> | undefined) } },
    }),
    async request<T>(given: RequestSpec): Promise<T> {
      const spec = { ...given, signal: withCtrlC(given) };
      return retrying(spec, () => requestOnce<T>(spec));
    },
    async stream(given: RequestSpec): Promise<ByteStream> {
      const spec = { ...given, signal: withCtrlC(given) };
      // Opening the stream is a read like any other: a 429 or 5xx before the body is retried with
      // the same policy (a stream once open is the caller's: follow-logs resumes a cut one).
      return retrying(spec, () => streamOnce(spec));
    },
    async list<T extends KubeObject>(
      path: string,
      query: RequestSpec['query'] = {},
      signal?: AbortSignal,
    ): Promise<KubeList<T>> {
      const items: T[] = [];
      let next: string | undefined;
      let resourceVersion: string | undefined;
      do {
        const page = await client.request<KubeList<T>>({
          path,
          query: { ...query, limit: 500, continue: next },
          signal,
        });
        for (const item of page.items ?? []) items.push(item);
        resourceVersion = page.metadata?.resourceVersion;
        next = page.metadata?.continue || undefined;
      } while (next);
      return { items, metadata: { resourceVersion } };
    },
    async watch<T extends KubeObject>(
      path: string,
      query: RequestSpec['query'],
      onEvent: (e: WatchEvent<T>) => void,
      given?: AbortSignal,
    ) {
      const signal = withCtrlC({ signal: given });
      const controller = new AbortController();
      const onOuterAbort = () => controller.abort();
      if (signal?.aborted) controller.abort();
      signal?.addEventListener('abort', onOuterAbort, { once: true });
      const forget = () => signal?.removeEventListener('abort', onOuterAbort);
      let res: IncomingMessage;
      try {
        res = await send({
          path,
          query: { ...query, watch: 1, allowWatchBookmarks: true },
          signal: controller.signal,
          streaming: true,
        });
      } catch (err) {
        forget();
        throw err;
      }
      const code = res.statusCode ?? 0;
      if (code !== 200) {
        forget();
        const text = await readBody(res);
        throw new KubeApiError(code, parseStatus(text), 'GET', path);
      }
      const done = new Promise<void>((resolve) => {
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (!line) continue;
            let event: WatchEvent<T>;
            try {
              event = JSON.parse(line) as WatchEvent<T>;
            } catch {
              continue; // a torn line from a dropped connection: the resume will replay from resourceVersion
            }
            onEvent(event);
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      void done.then(forget);
      return { done, stop: () => controller.abort() };
    },
  };
  return client;
}

function parseStatus(text: string): KubeStatus | undefined {
  try {
    const parsed = JSON.parse(text) as KubeStatus;
    return parsed && parsed.kind === 'Status' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export class KubeUnreachableError extends KeystoneError {
  constructor(
    message: string,
    hint: string,
    readonly code: string | undefined,
  ) {
    super(message, { hint });
  }
}

function connectionError(err: Error & { code?: string }, server: string, target: KubeTarget): KeystoneError {
  if (err.name === 'AbortError') return new KeystoneError('request aborted');
  const why =
    err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' ? 'host not found' : err.message;
  return new KubeUnreachableError(
    `cannot reach the Kubernetes API at ${server} (context ${target.context}): ${why}`,
    target.local
      ? 'is the cluster running? try `keystone status`, then `keystone start`'
      : 'check that the cluster of that context is up and reachable',
    err.code,
  );
}
