/**
 * Waiting on the cluster with watches, never sleeps: list once, then watch from the list's
 * resourceVersion; a stream the server closes is resumed from the last resourceVersion seen,
 * and a 410 Gone (resourceVersion too old) makes it relist. Every wait has a deadline.
 */
import { KeystoneError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import { backoff } from '../retry.js';
import { KubeApiError, KubeUnreachableError, type KubeClient, type WatchEvent } from './client.js';
import type { KubeObject } from './objects.js';

/** The state waited for was not reached within the time limit. */
export class WaitTimeoutError extends KeystoneError {
  constructor(message: string) {
    super(message, { hint: 'raise --timeout, or look at `keystone status` for what is stuck' });
    this.name = 'WaitTimeoutError';
  }
}

export { systemClock, type Clock } from '../clock.js';

export interface Verdict {
  done: boolean;
  /** Short progress text ("3/5 nodes Ready"). */
  progress: string;
  /** Set to stop early with this error (e.g. a pod that cannot start). */
  failure?: KeystoneError;
}

export interface WatchUntilOptions<T extends KubeObject> {
  client: KubeClient;
  /** Collection path, e.g. /api/v1/nodes or /apis/apps/v1/namespaces/keystone/deployments. */
  path: string;
  query?: Record<string, string | undefined>;
  evaluate: (objects: T[]) => Verdict;
  timeoutMs: number;
  /** What is being waited for, for the timeout message ("nodes to become Ready"). */
  what: string;
  onProgress?: (progress: string) => void;
  clock?: Clock;
  signal?: AbortSignal;
  /** Keep retrying while the API is unreachable (a cluster that is still starting). */
  tolerateUnreachable?: boolean;
  /** Sees each object as it is listed or changes (deleted: it went away), before `evaluate`. */
  observe?: (object: T, deleted: boolean) => void;
  /**
   * Told when the API stops answering (with the error; the wait goes on retrying) and when it
   * answers again, once per outage, so a long wait does not look hung.
   */
  onConnection?: (event: { state: 'lost'; error: Error } | { state: 'back' }) => void;
}

export interface WatchUntilResult<T> {
  objects: T[];
  progress: string;
}

export async function watchUntil<T extends KubeObject>(options: WatchUntilOptions<T>): Promise<WatchUntilResult<T>> {
  const clock = options.clock ?? systemClock;
  const deadline = clock.now() + options.timeoutMs;
  const stopAll = new AbortController();
  const onOuterAbort = () => stopAll.abort();
  options.signal?.addEventListener('abort', onOuterAbort);
  if (options.signal?.aborted) stopAll.abort(); // stopped before it started: an abort event never comes
  const objects = new Map<string, T>();
  const keyOf = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  let lastProgress = '';
  let outcome: { verdict: Verdict } | undefined;
  let lastError: unknown;

  const check = (): boolean => {
    const verdict = options.evaluate([...objects.values()]);
    if (verdict.progress !== lastProgress) {
      lastProgress = verdict.progress;
      options.onProgress?.(verdict.progress);
    }
    if (verdict.done || verdict.failure) {
      outcome = { verdict };
      return true;
    }
    return false;
  };

  let lost = false;
  const answered = () => {
    if (!lost) return;
    lost = false;
    options.onConnection?.({ state: 'back' });
  };

  const run = async (): Promise<void> => {
    let resourceVersion: string | undefined;
    const reconnect = backoff(200, 5000);
    while (!outcome && !stopAll.signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const list = await options.client.list<T>(options.path, options.query);
          objects.clear();
          for (const item of list.items) {
            objects.set(keyOf(item), item);
            options.observe?.(item, false);
          }
          resourceVersion = list.metadata.resourceVersion ?? '0';
          answered();
          if (check()) return;
        }
        let gone = false;
        const handle = await options.client.watch<T>(
          options.path,
          { ...options.query, resourceVersion, timeoutSeconds: 300 },
          (event: WatchEvent<T>) => {
            if (outcome) return;
            if (event.type === 'ERROR') {
              const status = event.object as unknown as { code?: number };
              if (status.code === 410) gone = true;
              handle.stop();
              return;
            }
            const rv = event.object.metadata?.resourceVersion;
            if (rv) resourceVersion = rv;
            if (event.type === 'BOOKMARK') return;
            if (event.type === 'DELETED') objects.delete(keyOf(event.object));
            else objects.set(keyOf(event.object), event.object);
            options.observe?.(event.object, event.type === 'DELETED');
            if (check()) handle.stop();
          },
          stopAll.signal,
        );
        answered();
        const onStop = () => handle.stop();
        stopAll.signal.addEventListener('abort', onStop);
        if (stopAll.signal.aborted || outcome) handle.stop(); // stopped while the watch was being opened
        await handle.done;
        stopAll.signal.removeEventListener('abort', onStop);
        if (gone) resourceVersion = undefined; // 410 Gone: relist
        reconnect.reset();
      } catch (err) {
        if (stopAll.signal.aborted) return;
        lastError = err;
        const transient =
          (err instanceof KubeUnreachableError && options.tolerateUnreachable) ||
          (err instanceof KubeApiError && (err.statusCode === 429 || err.statusCode >= 500));
        if (err instanceof KubeApiError && err.statusCode === 410) {
          resourceVersion = undefined;
          continue;
        }
        if (!transient) throw err;
        if (!lost) {
          lost = true;
          options.onConnection?.({ state: 'lost', error: err as Error });
        }
        await clock.sleep(Math.min(reconnect.next(), Math.max(0, deadline - clock.now())), stopAll.signal);
      }
    }
  };

  const timer = clock.sleep(Math.max(0, deadline - clock.now()), stopAll.signal).then(() => 'timeout' as const);
  try {
    const winner = await Promise.race([run().then(() => 'finished' as const), timer]);
    if (options.signal?.aborted) throw new KeystoneError(`stopped waiting for ${options.what}`, { exitCode: 130 });
    if (winner === 'timeout' || !outcome) {
      const seconds = Math.round(options.timeoutMs / 1000);
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new WaitTimeoutError(
        `timed out after ${seconds}s waiting for ${options.what}${lastProgress ? ` (${lastProgress})` : ''}${cause}`,
      );
    }
    if (outcome.verdict.failure) throw outcome.verdict.failure;
    return { objects: [...objects.values()], progress: outcome.verdict.progress };
  } finally {
    stopAll.abort();
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}
