/** Durations as users write them for --timeout: "90s", "5m", "1h30m", "7d", or a bare number of seconds. */
import { UsageError } from './errors.js';

export function parseDuration(text: string, flag = '--timeout'): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(trimmed);
  if (!trimmed || !m || (!m[1] && !m[2] && !m[3] && !m[4])) {
    throw new UsageError(`${flag} "${text}" is not a duration`, 'use a number of seconds or a duration like 90s, 5m, 1h30m, 7d');
  }
  const ms = (Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * 1000;
  if (ms <= 0) throw new UsageError(`${flag} must be longer than zero`, 'for example --timeout 5m');
  return Math.round(ms);
}
