// One parser per kind of duration, with the same edges for every option (issue 11 #5).
import { describe, expect, it } from 'vitest';
import { maxTimeoutMs, maxTimerMs, parseAge, parseDuration, parseTimeout } from '../../src/duration.js';
import { UsageError } from '../../src/errors.js';
import { describeFsError } from '../../src/fs-errors.js';
import { dockerInfoTimeoutMs } from '../../src/tools/docker.js';
import { KeystoneError } from '../../src/errors.js';

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error('expected a usage error');
};

describe('durations', () => {
  it('reads seconds, units and their sums; fractions of a millisecond round up, not to zero', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('0.0001')).toBe(1);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('0s')).toBe(0);
  });

  it('a timeout is more than zero and at most 24 days, below what setTimeout can time', () => {
    expect(maxTimeoutMs).toBeLessThan(maxTimerMs);
    expect(parseTimeout('24d')).toBe(maxTimeoutMs);
    expect(parseTimeout('0.5')).toBe(500);
    expect(usage(() => parseTimeout('0'))).toBe('--timeout must be longer than zero');
    expect(usage(() => parseTimeout('0s'))).toBe('--timeout must be longer than zero');
    expect(usage(() => parseTimeout('24d1s'))).toBe('--timeout 24d1s is too long: at most 24d');
    expect(usage(() => parseTimeout('2147484s'))).toBe('--timeout 2147484s is too long: at most 24d');
    expect(usage(() => parseTimeout('9'.repeat(400)))).toMatch(/^--timeout 9{20}… is too long$/);
    for (const bad of ['-1', '-5m', '1e3', 'Infinity', 'NaN', '', ' ', '5 m', '1.5m', '0x10']) {
      expect(
        usage(() => parseTimeout(bad)),
        bad,
      ).toMatch(/is not a duration/);
    }
  });

  it('an age may be zero (everything) and up to 100 years', () => {
    expect(parseAge('0', '--older-than')).toBe(0);
    expect(parseAge('36500d', '--older-than')).toBe(36500 * 86_400_000);
    expect(usage(() => parseAge('36501d', '--older-than'))).toBe('--older-than 36501d is too long: at most 36500d');
  });
});

describe('KEYSTONE_DOCKER_TIMEOUT', () => {
  it('takes the --timeout syntax and edges instead of ignoring what it cannot read', () => {
    expect(dockerInfoTimeoutMs({})).toBe(20_000);
    expect(dockerInfoTimeoutMs({ KEYSTONE_DOCKER_TIMEOUT: '60' })).toBe(60_000);
    expect(dockerInfoTimeoutMs({ KEYSTONE_DOCKER_TIMEOUT: '2m' })).toBe(120_000);
    expect(usage(() => dockerInfoTimeoutMs({ KEYSTONE_DOCKER_TIMEOUT: '0' }))).toBe(
      'KEYSTONE_DOCKER_TIMEOUT must be longer than zero',
    );
    // 1e10 s used to reach setTimeout, which fires at once beyond 2^31-1 ms.
    expect(usage(() => dockerInfoTimeoutMs({ KEYSTONE_DOCKER_TIMEOUT: '10000000000' }))).toBe(
      'KEYSTONE_DOCKER_TIMEOUT 10000000000 is too long: at most 24d',
    );
    expect(usage(() => dockerInfoTimeoutMs({ KEYSTONE_DOCKER_TIMEOUT: 'soon' }))).toMatch(/is not a duration/);
  });
});

describe('filesystem errors', () => {
  it('become one line with the reason in words and a hint; other errors pass through', () => {
    const erofs = Object.assign(new Error("EROFS: read-only file system, mkdir '/x/data/lammps/runs'"), {
      code: 'EROFS',
    });
    const described = describeFsError(erofs, 'stage the input', 'data/lammps') as KeystoneError;
    expect(described).toBeInstanceOf(KeystoneError);
    expect(described.message).toBe('could not stage the input: read-only file system (data/lammps)');
    expect(described.hint).toContain('read-only file system');
    expect(
      (describeFsError(Object.assign(new Error('x'), { code: 'ENOSPC' }), 'copy', 'data') as KeystoneError).hint,
    ).toContain('free some disk space');
    const other = new TypeError('not fs');
    expect(describeFsError(other, 'copy', 'data')).toBe(other);
  });
});
