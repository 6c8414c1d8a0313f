// The one retry/backoff policy, on a clock that moves only when something waits on it.
import { describe, expect, it } from 'vitest';
import { backoff, withRetries } from '../../src/retry.js';
import type { Clock } from '../../src/clock.js';

function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return { slept, now: () => now, sleep: async (ms) => void (slept.push(ms), (now += ms)) };
}

describe('withRetries', () => {
  it('retries what is retryable after each listed wait, then gives up with the last error', async () => {
    const clock = fakeClock();
    let calls = 0;
    const retries: number[] = [];
    await expect(
      withRetries(async () => Promise.reject(new Error(`fail ${++calls}`)), {
        delaysMs: [200, 600, 1500],
        retryable: () => true,
        clock,
        onRetry: (_e, n) => retries.push(n),
      }),
    ).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
    expect(clock.slept).toEqual([200, 600, 1500]);
  });

  it('returns the first success, and does not retry what is not retryable', async () => {
    const clock = fakeClock();
    let calls = 0;
    expect(
      await withRetries(async () => (++calls < 3 ? Promise.reject(new Error('503')) : 'ok'), {
        delaysMs: [1, 1, 1],
        retryable: () => true,
        clock,
      }),
    ).toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetries(async () => Promise.reject(new Error(`404 ${++calls}`)), {
        delaysMs: [1, 1],
        retryable: () => false,
        clock,
      }),
    ).rejects.toThrow('404 1');
  });

  it('jitter keeps each wait between half and one and a half times the listed one', async () => {
    for (const random of [0, 0.5, 0.999]) {
      const clock = fakeClock();
      await withRetries(async () => Promise.reject(new Error('x')), {
        delaysMs: [200],
        retryable: () => true,
        clock,
        jitter: true,
        random: () => random,
      }).catch(() => undefined);
      expect(clock.slept[0]).toBeCloseTo(100 + random * 200);
    }
  });
});

describe('backoff', () => {
  it('doubles up to the cap, and starts again after reset', () => {
    const b = backoff(200, 1000);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(200);
  });
});
