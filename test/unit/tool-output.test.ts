import { describe, expect, it } from 'vitest';
import { lastErrorLine, prettyCommand } from '../../src/exec/command-line.js';
import { compareVersions, parseK3dVersion, parseKubectlVersion, parseVersion } from '../../src/tools/versions.js';
import { checksumFor, releaseAssetName } from '../../src/tools/k3d-install.js';
import { parseDuration, parseTimeout } from '../../src/duration.js';

describe('versions', () => {
  it('reads k3d and kubectl the way they print themselves', () => {
    expect(parseK3dVersion('k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)\n')).toMatchObject({
      major: 5,
      minor: 8,
      patch: 3,
    });
    // The k3s line must not be mistaken for k3d's.
    expect(parseK3dVersion('k3s version v1.31.5-k3s1 (default)\nk3d version v5.4.0\n')).toMatchObject({
      major: 5,
      minor: 4,
    });
    expect(
      parseKubectlVersion('{"clientVersion":{"major":"1","minor":"32+","gitVersion":"v1.32.4-dispatcher"}}'),
    ).toMatchObject({ major: 1, minor: 32, patch: 4 });
  });

  it('rejects output that is not a version, quoting it', () => {
    expect(() => parseK3dVersion('command not found')).toThrow(
      `could not read k3d's version from its output: "command not found"`,
    );
    expect(() => parseKubectlVersion('Client Version: v1.30.0')).toThrow(/could not read kubectl's version/);
  });

  it('compares numerically, not as text', () => {
    expect(compareVersions(parseVersion('1.9.0')!, parseVersion('1.27.0')!)).toBeLessThan(0);
    expect(compareVersions(parseVersion('v5.10.0')!, parseVersion('5.8.3')!)).toBeGreaterThan(0);
    expect(compareVersions(parseVersion('1.27')!, parseVersion('1.27.0')!)).toBe(0);
  });
});

describe('lastErrorLine', () => {
  it("takes k3d's cause, not its rollback message, and strips colours", () => {
    const out = [
      '\u001b[36mINFO\u001b[0m[0000] Prep: Network',
      '\u001b[31mERRO\u001b[0m[0003] Failed Cluster Start: ... Bind for 0.0.0.0:8080 failed: port is already allocated',
      '\u001b[31mERRO\u001b[0m[0003] Failed to create cluster >>> Rolling Back',
      '\u001b[31mFATA\u001b[0m[0004] Cluster creation FAILED, all changes have been rolled back!',
    ].join('\n');
    expect(lastErrorLine(out)).toBe(
      'Failed Cluster Start: ... Bind for 0.0.0.0:8080 failed: port is already allocated',
    );
  });

  it("falls back to docker's daemon error and then to the last line", () => {
    expect(lastErrorLine('x\nError response from daemon: conflict\n')).toBe('Error response from daemon: conflict');
    expect(lastErrorLine('first\nlast one\n\n')).toBe('last one');
  });
});

describe('prettyCommand', () => {
  it('quotes what a shell would split or expand', () => {
    expect(prettyCommand('k3d', ['cluster', 'create', '--config', '/tmp/a b.yaml'])).toBe(
      "k3d cluster create --config '/tmp/a b.yaml'",
    );
    expect(prettyCommand('echo', ["it's", '$(rm -rf /)'])).toBe(`echo 'it'\\''s' '$(rm -rf /)'`);
  });
});

describe('k3d release assets and checksums', () => {
  it('names the asset for each platform', () => {
    expect(releaseAssetName('linux', 'x64')).toBe('k3d-linux-amd64');
    expect(releaseAssetName('darwin', 'arm64')).toBe('k3d-darwin-arm64');
    expect(releaseAssetName('win32', 'x64')).toBe('k3d-windows-amd64.exe');
    expect(() => releaseAssetName('linux', 'mips')).toThrow(/no k3d release binary/);
  });

  it('finds the checksum line of checksums.txt by file name', () => {
    const sums = `${'a'.repeat(64)}  _dist/k3d-linux-arm64\n${'b'.repeat(64)}  _dist/k3d-linux-amd64\n`;
    expect(checksumFor(sums, 'k3d-linux-amd64')).toBe('b'.repeat(64));
    expect(checksumFor(sums, 'k3d-darwin-amd64')).toBeUndefined();
    expect(checksumFor('zzz  _dist/k3d-linux-amd64', 'k3d-linux-amd64')).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it('reads seconds and Go-style durations', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
  });
  it('rejects the rest as usage errors', () => {
    for (const bad of ['', 'soon', '5 m', '-3', '1w', 'd'])
      expect(() => parseDuration(bad)).toThrow(/is not a duration/);
    // Zero is a length (--older-than 0); as a --timeout it is refused (unit/duration has the rest).
    expect(parseDuration('0s')).toBe(0);
    expect(() => parseTimeout('0s')).toThrow(/longer than zero/);
  });
});

describe('k3d cluster list -o json', () => {
  const runnerPrinting = (stdout: string) =>
    ({
      run: async () => ({ stdout, stderr: '', exitCode: 0 }),
    }) as unknown as import('../../src/exec/runner.js').Runner;
  // The shape k3d v5.8.3 prints (cmd/cluster/clusterList.go adds the counts to each cluster's JSON).
  const listed = {
    name: 'keystone-cluster',
    serversRunning: 2,
    serversCount: 2,
    agentsRunning: 3,
    agentsCount: 3,
    hasLoadbalancer: true,
    nodes: [{ name: 'k3d-keystone-cluster-server-0', role: 'server', State: { Running: true, Status: 'running' } }],
  };

  it('reads the clusters and their counts', async () => {
    const { k3dClusterList } = await import('../../src/tools/k3d.js');
    expect(await k3dClusterList(runnerPrinting(JSON.stringify([listed])))).toEqual([listed]);
    expect(await k3dClusterList(runnerPrinting(''))).toEqual([]);
  });

  it('refuses a document of another shape, and output that is not JSON', async () => {
    const { k3dClusterList } = await import('../../src/tools/k3d.js');
    for (const bad of [
      { ...listed, serversRunning: '2' },
      { ...listed, agentsCount: 1.5 },
      { ...listed, nodes: [{ name: 'n' }] },
      { name: 'x' },
    ]) {
      await expect(k3dClusterList(runnerPrinting(JSON.stringify([bad])))).rejects.toThrow(
        'k3d cluster list -o json printed an unexpected document',
      );
    }
    await expect(k3dClusterList(runnerPrinting(JSON.stringify({ clusters: [] })))).rejects.toThrow(
      'unexpected document',
    );
    await expect(k3dClusterList(runnerPrinting('FATA[0000] no'))).rejects.toThrow('printed something that is not JSON');
  });
});
