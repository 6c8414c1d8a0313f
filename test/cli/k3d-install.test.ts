// k3d missing: setup installs the pinned release from a (fake) release server, verified by checksum.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHarness, repoRoot, freePort, type Harness } from '../helpers/harness.js';
import { k3dReleaseVersion, releaseAssetName } from '../../src/tools/k3d-install.js';

let h: Harness;
let release: Server | undefined;
afterEach(async () => {
  release?.close();
  release = undefined;
  await h?.cleanup();
});

const asset = releaseAssetName(process.platform, process.arch);
// The "release binary" is a launcher for the fake k3d, so the installed k3d really runs.
const binary = `#!/usr/bin/env node\nimport(${JSON.stringify(join(repoRoot, 'test', 'fakes', 'fake-k3d.mjs'))});\n`;
const sha = createHash('sha256').update(binary).digest('hex');

async function serveRelease(checksum: string): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  release = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === `/${k3dReleaseVersion}/${asset}`) return res.end(binary);
    if (req.url === `/${k3dReleaseVersion}/checksums.txt`) {
      return res.end(`${'0'.repeat(64)}  _dist/k3d-other-arch\n${checksum}  _dist/${asset}\n`);
    }
    res.statusCode = 404;
    res.end('not found');
  });
  await new Promise<void>((resolve) => release!.listen(0, '127.0.0.1', resolve));
  const address = release.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, hits };
}

describe('installing k3d when it is missing', () => {
  it("downloads the pinned release, verifies its checksum, installs it executable in keystone's own bin dir, and uses it", async () => {
    h = await createHarness({ tools: ['docker', 'kubectl'] });
    const { url, hits } = await serveRelease(sha);
    const r = await h.run(['setup'], { env: { KEYSTONE_K3D_RELEASE_URL: url } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(hits).toEqual([`/${k3dReleaseVersion}/checksums.txt`, `/${k3dReleaseVersion}/${asset}`]);
    const installed = join(h.env.KEYSTONE_HOME!, 'bin', 'k3d');
    expect((await stat(installed)).mode & 0o777).toBe(0o755);
    expect(r.stderr).toContain(`installed k3d 5.8.3 into ${join(h.env.KEYSTONE_HOME!, 'bin')}`);
    expect((await h.state()).clusters['keystone-cluster']).toBeDefined();

    // The next run finds the installed k3d without downloading again.
    hits.length = 0;
    const again = await h.run(['status', '-o', 'json'], { env: { KEYSTONE_K3D_RELEASE_URL: url } });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout).cluster.phase).toBe('running');
    expect(hits).toEqual([]);
  });

  it('refuses a binary whose checksum does not match and leaves nothing on disk', async () => {
    h = await createHarness({ tools: ['docker', 'kubectl'] });
    const { url } = await serveRelease('f'.repeat(64));
    const r = await h.run(['setup'], { env: { KEYSTONE_K3D_RELEASE_URL: url } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`checksum mismatch for ${asset}: expected ${'f'.repeat(64)}, got ${sha}`);
    expect(r.stderr).toContain('hint: install k3d v5.8.3 yourself');
    const binDir = join(h.env.KEYSTONE_HOME!, 'bin');
    expect(existsSync(binDir) ? await readdir(binDir) : []).toEqual([]);
    expect(await h.calls('k3d')).toEqual([]);
  });

  it('offline: a clear error with manual install instructions, exit 1', async () => {
    h = await createHarness({ tools: ['docker', 'kubectl'] });
    const closedPort = await freePort();
    const r = await h.run(['setup'], { env: { KEYSTONE_K3D_RELEASE_URL: `http://127.0.0.1:${closedPort}` } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /cannot download http:\/\/127\.0\.0\.1:\d+\/v5\.8\.3\/checksums\.txt \(ECONNREFUSED\); are you offline\?/,
    );
    expect(r.stderr).toContain('https://k3d.io/#installation');
    expect(existsSync(join(h.env.KEYSTONE_HOME!, 'bin', 'k3d'))).toBe(false);
  });

  it('a release without a checksum for this platform is not installed', async () => {
    h = await createHarness({ tools: ['docker', 'kubectl'] });
    const { url } = await serveRelease('not-a-checksum');
    const r = await h.run(['setup'], { env: { KEYSTONE_K3D_RELEASE_URL: url } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`publishes no checksum for ${asset}`);
  });
});
