// The pure parts of jobs fetch: reading the helper pod's manifest, splitting files into batches.
import { describe, expect, it } from 'vitest';
import { batches, parseManifest, skippedIn } from '../../src/runs/storage/fetch.js';

const sha = 'a'.repeat(64);

describe('parseManifest', () => {
  it('reads NUL-terminated "<bytes> <sha256> ./<path>" records, names with spaces and newlines included, sorted', () => {
    const text = `12 ${sha} ./b/x y.txt\0` + `0 ${'b'.repeat(64)} ./a\nb\0`;
    expect(parseManifest(text)).toEqual([
      { path: 'a\nb', bytes: 0, sha256: 'b'.repeat(64) },
      { path: 'b/x y.txt', bytes: 12, sha256: sha },
    ]);
  });

  it('reads the two-pass form (GNU find -printf sizes, sha256sum -z hashes) and joins them by path', () => {
    const text = `S 3 ./x\0S 5 ./new\0${sha}  ./x\0${'c'.repeat(64)} *./y\0S 1 ./y\0`;
    // ./new has no hash yet (it appeared between the passes): left for the next fetch.
    expect(parseManifest(text)).toEqual([
      { path: 'x', bytes: 3, sha256: sha },
      { path: 'y', bytes: 1, sha256: 'c'.repeat(64) },
    ]);
  });

  it('refuses a path that would leave the destination, and a line it cannot read', () => {
    expect(() => parseManifest(`1 ${sha} ./../etc/passwd\0`)).toThrow(
      'refusing the path "../etc/passwd" from the volume',
    );
    expect(() => parseManifest(`1 ${sha} ./a//b\0`)).toThrow('refusing the path');
    expect(() => parseManifest('garbage\0')).toThrow('unreadable manifest line');
  });

  it('"X <type> ./<path>" records (GNU %y, or "?" from busybox) are what is not fetched, never files', () => {
    const text = `S 3 ./x\0${sha}  ./x\0X l ./z link\0X ? ./a pipe\0X p ./b\0`;
    expect(parseManifest(text)).toEqual([{ path: 'x', bytes: 3, sha256: sha }]);
    expect(skippedIn(text)).toEqual([
      { path: 'a pipe', kind: 'not a regular file' },
      { path: 'b', kind: 'named pipe' },
      { path: 'z link', kind: 'symbolic link' },
    ]);
  });
});

describe('batches', () => {
  it("keeps each exec's file arguments under the URL budget, in order, every file once", () => {
    const entries = Array.from({ length: 500 }, (_, i) => ({
      path: `processor0/${i}/U-${'x'.repeat(40)}`,
      bytes: 1,
      sha256: sha,
    }));
    const split = batches(entries);
    expect(split.length).toBeGreaterThan(1);
    expect(split.flat()).toEqual(entries);
    for (const b of split)
      expect(
        b.map((e) => encodeURIComponent(`./${e.path}`).length + '&command='.length).reduce((a, n) => a + n, 0),
      ).toBeLessThanOrEqual(6000);
    // A single name longer than the budget still goes, alone.
    expect(batches([{ path: 'y'.repeat(7000), bytes: 1, sha256: sha }])).toHaveLength(1);
  });
});
