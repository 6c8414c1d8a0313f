// src/guarded-fs.ts's replaceFile: how keystone updates a file it keeps itself (a run's record).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuardedDir, OutsideRootError, WouldOverwriteError } from '../../src/guarded-fs.js';

let root: string;
let data: GuardedDir;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'guarded-'));
  await mkdir(join(root, 'data', 'runs'), { recursive: true });
  data = new GuardedDir(join(root, 'data'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('GuardedDir.replaceFile', () => {
  it('writes a new file, and replaces it only while it holds what the caller read', async () => {
    const file = join(root, 'data', 'runs', 'record.json');
    await data.replaceFile(file, 'one');
    expect(await readFile(file, 'utf8')).toBe('one');
    await data.replaceFile(file, 'two', { replaces: sha('one') });
    expect(await readFile(file, 'utf8')).toBe('two');
    // Changed since it was read (by hand, by another keystone): refused, kept as it is.
    await expect(data.replaceFile(file, 'three', { replaces: sha('one') })).rejects.toThrow(WouldOverwriteError);
    expect(await readFile(file, 'utf8')).toBe('two');
    // Without `replaces`, an existing file that differs is never overwritten (writeFile's rule); --force may.
    await expect(data.replaceFile(file, 'three')).rejects.toThrow(/already exists with other content/);
    await data.with({ force: true }).replaceFile(file, 'three');
    expect(await readFile(file, 'utf8')).toBe('three');
    expect(await readdir(join(root, 'data', 'runs'))).toEqual(['record.json']);
  });

  it('never writes through a symlink, nor out of the root through a linked directory', async () => {
    const outside = join(root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'victim'), 'mine');
    const link = join(root, 'data', 'runs', 'linked.json');
    await symlink(join(outside, 'victim'), link);
    await expect(data.replaceFile(link, 'x')).rejects.toThrow(OutsideRootError);
    await expect(data.replaceFile(link, 'x', { replaces: sha('mine') })).rejects.toThrow(OutsideRootError);
    // A link inside data/ is not written through either (the file it names is another one).
    const inner = join(root, 'data', 'runs', 'inner.json');
    await symlink(join(root, 'data', 'runs', 'record.json'), inner);
    await expect(data.replaceFile(inner, 'x')).rejects.toThrow(/inner\.json is a symlink/);
    await expect(data.replaceFile(inner, 'x', { replaces: sha('three') })).rejects.toThrow(WouldOverwriteError);
    expect(await readFile(join(root, 'data', 'runs', 'record.json'), 'utf8')).toBe('three');
    // A leftover temporary file that is a link: removed, never followed.
    await symlink(join(outside, 'victim'), join(root, 'data', 'runs', 'new.json.keystone-part'));
    await data.replaceFile(join(root, 'data', 'runs', 'new.json'), 'new');
    expect(await readFile(join(root, 'data', 'runs', 'new.json'), 'utf8')).toBe('new');
    // data/elsewhere leads out of data/: refused, naming the link.
    await symlink(outside, join(root, 'data', 'elsewhere'));
    await expect(
      data.replaceFile(join(root, 'data', 'elsewhere', 'victim'), 'x', { replaces: sha('mine') }),
    ).rejects.toThrow(OutsideRootError);
    await expect(data.replaceFile(join(root, 'data', 'elsewhere', 'victim'), 'x')).rejects.toThrow(
      `${join(root, 'data', 'elsewhere', 'victim')} is outside ${join(root, 'data')} (${join(root, 'data', 'elsewhere')} leads to ${outside})`,
    );
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('mine');
    expect((await readdir(outside)).sort()).toEqual(['victim']);
  });
});

describe('GuardedDir.open and GuardedDir.rename (a fetch part file, issue 22 #5)', () => {
  it('opens a file for writing, never a symlink there nor through a linked directory', async () => {
    const dir = join(root, 'data', 'open');
    await mkdir(dir);
    const handle = await data.open(join(dir, 'a.part'), 'w');
    await handle.writeFile('abc');
    await handle.close();
    const again = await data.open(join(dir, 'a.part'), 'a');
    await again.writeFile('def');
    await again.close();
    expect(await readFile(join(dir, 'a.part'), 'utf8')).toBe('abcdef');
    const outside = join(root, 'outside-open');
    await mkdir(outside);
    await writeFile(join(outside, 'victim'), 'mine');
    // A link to a file inside is not written through either (O_NOFOLLOW); one leading out is outside.
    await symlink(join(dir, 'a.part'), join(dir, 'b.part'));
    await expect(data.open(join(dir, 'b.part'), 'w')).rejects.toThrow(/b\.part is a symlink \(to .*a\.part\)/);
    expect(await readFile(join(dir, 'a.part'), 'utf8')).toBe('abcdef');
    await symlink(join(outside, 'victim'), join(dir, 'c.part'));
    await expect(data.open(join(dir, 'c.part'), 'w')).rejects.toThrow(OutsideRootError);
    await symlink(outside, join(dir, 'linked'));
    await expect(data.open(join(dir, 'linked', 'victim'), 'w')).rejects.toThrow(OutsideRootError);
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('mine');
    expect(await readdir(outside)).toEqual(['victim']);
  });

  it('names a part file: over the same content or nothing; another file only with --force; never out of the root', async () => {
    const dir = join(root, 'data', 'rename');
    await mkdir(dir);
    await writeFile(join(dir, 'x.part'), 'new');
    await data.rename(join(dir, 'x.part'), join(dir, 'x'), { sha256: sha('new') });
    expect(await readdir(dir)).toEqual(['x']);
    await writeFile(join(dir, 'x.part'), 'newer');
    await expect(data.rename(join(dir, 'x.part'), join(dir, 'x'))).rejects.toThrow(
      /x already exists with other content/,
    );
    expect(await readFile(join(dir, 'x'), 'utf8')).toBe('new');
    await data.with({ force: true }).rename(join(dir, 'x.part'), join(dir, 'x'));
    expect(await readFile(join(dir, 'x'), 'utf8')).toBe('newer');
    const outside = join(root, 'outside-rename');
    await mkdir(outside);
    await symlink(outside, join(dir, 'linked'));
    await writeFile(join(dir, 'y.part'), 'y');
    await expect(data.with({ force: true }).rename(join(dir, 'y.part'), join(dir, 'linked', 'y'))).rejects.toThrow(
      OutsideRootError,
    );
    await symlink(join(outside, 'z'), join(dir, 'z'));
    await expect(data.with({ force: true }).rename(join(dir, 'y.part'), join(dir, 'z'))).rejects.toThrow(
      /z is a symlink/,
    );
    expect(await readdir(outside)).toEqual([]);
  });
});
