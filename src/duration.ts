/**
 * Durations as users write them: "90s", "5m", "1h30m", "7d", or a bare number of seconds.
 * One syntax, and one parser per kind of option, so every option has the same edges:
 * - parseDuration: the syntax only (any finite length, 0 included), for callers with their own rules;
 * - parseTimeout: how long to wait (--timeout): more than zero, and no longer than a timer can
 *   run (Node's setTimeout fires at once beyond 2^31-1 ms, about 24.8 days);
 * - parseAge: how old something is (--older-than): zero or more, up to 100 years.
 */
import { UsageError } from './errors.js';

/** The longest delay setTimeout honours (a larger one fires after 1 ms, with a warning). */
export const maxTimerMs = 2 ** 31 - 1;
/** The longest --timeout: 24 days, a round number below maxTimerMs (which leaves room for margins). */
export const maxTimeoutMs = 24 * 86_400_000;
const maxAgeMs = 100 * 365 * 86_400_000;

const syntaxHint = 'use a number of seconds or a duration like 90s, 5m, 1h30m, 7d';

/** The length in ms (rounded up, so a fraction of a ms is not zero); 0 and any finite length allowed. */
export function parseDuration(text: string, flag = '--timeout'): number {
  const trimmed = text.trim();
  let seconds: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    seconds = Number(trimmed);
  } else {
    const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(trimmed);
    if (!trimmed || !m || (!m[1] && !m[2] && !m[3] && !m[4]))
      throw new UsageError(`${flag} "${text}" is not a duration`, syntaxHint);
    seconds = Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  }
  const ms = Math.ceil(seconds * 1000);
  if (!Number.isSafeInteger(ms))
    throw new UsageError(
      `${flag} ${trimmed.length > 20 ? `${trimmed.slice(0, 20)}…` : trimmed} is too long`,
      syntaxHint,
    );
  return ms;
}

/** A time limit: longer than zero and at most 24 days. */
export function parseTimeout(text: string, flag = '--timeout'): number {
  const ms = parseDuration(text, flag);
  const example = flag.startsWith('-') ? `${flag} 5m` : `${flag}=5m`;
  if (ms <= 0) throw new UsageError(`${flag} must be longer than zero`, `for example ${example}`);
  if (ms > maxTimeoutMs)
    throw new UsageError(
      `${flag} ${text.trim()} is too long: at most 24d`,
      'keystone cannot time a longer wait; leave a longer run detached (-d)',
    );
  return ms;
}

/** An age: zero (everything) or more, up to 100 years. */
export function parseAge(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms > maxAgeMs)
    throw new UsageError(`${flag} ${text.trim()} is too long: at most 36500d`, `for example ${flag} 30d`);
  return ms;
}
