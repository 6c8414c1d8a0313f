// The run record's pieces on their own: --env values left out of the argv, the input digest
// against coreutils' sha256sum (names with a backslash or a newline included), the checksum.
import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { inputDigest } from '../../src/runs/record/input-digest.js';
import { canonicalJson, parseRecord, redactArgv, sealRecord } from '../../src/runs/record/record.js';

describe('redactArgv', () => {
  it("replaces every --env value, in both spellings, and leaves the program's own arguments after -- alone", () => {
    expect(
      redactArgv([
        'run-simulation',
        'lammps',
        'in.lj',
        '--env',
        'TOKEN=s3cret',
        '--env=A=b=c',
        '--memory',
        '1Gi',
        '--',
        '--env',
        'X=kept',
      ]),
    ).toEqual([
      'run-simulation',
      'lammps',
      'in.lj',
      '--env',
      'TOKEN=…',
      '--env=A=…',
      '--memory',
      '1Gi',
      '--',
      '--env',
      'X=kept',
    ]);
  });
});

describe('inputDigest', () => {
  it('a directory: the SHA-256 of its sha256sum listing, sorted bytewise, escaped names included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keystone-digest-'));
    try {
      const caseDir = join(dir, 'case');
      await mkdir(join(caseDir, 'system'), { recursive: true });
      const files: [string, string][] = [
        ['system/controlDict', 'a\n'],
        ['Z-upper', 'z\n'],
        ['back\\slash', 'b\n'],
        ['new\nline', 'n\n'],
        ['é', 'e\n'],
      ];
      for (const [name, text] of files) await writeFile(join(caseDir, name), text);
      const digest = await inputDigest({
        kind: 'directory',
        name: 'case',
        files: files.map(([name]) => ({ relativePath: `case/${name}`, absolutePath: join(caseDir, name), bytes: 2 })),
      });
      const { stdout } = await execa(
        'sh',
        ['-c', "find -L . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"],
        { cwd: caseDir },
      );
      expect(digest).toBe(`sha256:${stdout.split(' ')[0]}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('record checksum', () => {
  const record = sealRecord({
    apiVersion: 'keystone.io/v1',
    kind: 'RunRecord',
    runId: '20261207-120000-abcd',
    tool: 'lammps',
    runKind: 'Job',
    job: 'lammps-20261207-120000-abcd',
    keystoneVersion: '0.1.0',
    argv: ['run-simulation', 'lammps', 'in.lj'],
    env: [],
    profile: { template: 'lammps-template' },
    template: { name: 'lammps-template', sha256: `sha256:${'1'.repeat(64)}` },
    image: {
      requested: 'keystone/lammps:0.1.0',
      ref: 'keystone/lammps:0.1.0',
      digest: null,
      id: `sha256:${'2'.repeat(64)}`,
      pinnedBy: 'image-id',
      source: 'test',
    },
    input: {
      name: 'in.lj',
      kind: 'file',
      path: 'lammps/in.lj',
      sha256: `sha256:${'3'.repeat(64)}`,
      bytes: 10,
      files: 1,
    },
    request: { args: [], retries: 0, ranks: 1, nodes: 1 },
    cluster: { name: 'keystone-cluster', context: 'k3d-keystone-cluster', local: true },
    submittedAt: '2026-12-07T12:00:00.000Z',
  });

  it('does not depend on key order or indentation, and refuses any change', () => {
    const text = JSON.stringify(record, null, 2);
    expect(parseRecord(text, 'x').runId).toBe(record.runId);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(record).reverse()));
    expect(parseRecord(reordered, 'x').checksum).toBe(record.checksum);
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(() => parseRecord(text.replace('"retries": 0', '"retries": 1'), 'f.json')).toThrow(
      'the run record f.json was changed after keystone wrote it (its checksum does not match)',
    );
    expect(() => parseRecord(text.replace('"kind": "RunRecord"', '"kind": "Other"'), 'f.json')).toThrow(
      'the run record f.json is not one keystone wrote: kind',
    );
  });
});
