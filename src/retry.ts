/**
 * The one retry and backoff policy: a fixed list of waits with jitter for requests (the client),
 * doubling waits with a cap for reconnects (watches). Time comes from a Clock, so tests drive it.
 */
import { systemClock, type Clock } from './clock.js';

export interface RetryOptions {
  /** The waits before each retry; their number is the number of retries. */
  delaysMs: readonly number[];
  retryable: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number) => void;
  clock?: Clock;
  /** Spread retries out (half the wait to one and a half times it), so clients do not retry in step. */
  jitter?: boolean;
  random?: () => number;
  /** True when a wait of this long must not start (it would cross a deadline): the error stands. */
  tooLate?: (waitMs: number) => boolean;
  /** Ends a wait between attempts at once; the next attempt then sees the abort. */
  signal?: AbortSignal;
}

export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const delay = options.delaysMs[n];
      if (delay === undefined || !options.retryable(err)) throw err;
      const wait = options.jitter ? delay / 2 + random() * delay : delay;
      if (options.tooLate?.(wait)) throw err;
      options.onRetry?.(err, n + 1);
      await clock.sleep(wait, options.signal);
    }
  }
}

/** Doubling waits from `initialMs` up to `maxMs`; reset() after a success starts again. */
export function backoff(initialMs: number, maxMs: number): { next(): number; reset(): void } {
  let current = initialMs;
  return {
    next() {
      const wait = current;
      current = Math.min(current * 2, maxMs);
      return wait;
    },
    reset() {
      current = initialMs;
    },
  };
}
