/**
 * Installing k3d when it is missing: the pinned release binary for this OS and architecture,
 * verified against the release's published checksums.txt before it is made executable, into a
 * directory keystone owns (never /usr/local/bin). Nothing is left behind when anything fails.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeystoneError } from '../errors.js';
import { keystoneHome } from '../keystone-home.js';

export const k3dReleaseVersion = 'v5.8.3';
export const defaultReleaseBase = 'https://github.com/k3d-io/k3d/releases/download';
/** Override of the release download base, for mirrors and for tests that serve a fake release. */
export const releaseBaseEnv = 'KEYSTONE_K3D_RELEASE_URL';

export function keystoneBinDir(env: NodeJS.ProcessEnv): string {
  return join(keystoneHome(env), 'bin');
}

export function releaseAssetName(platform: NodeJS.Platform, arch: string): string {
  const os = platform === 'win32' ? 'windows' : platform;
  const goArch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[arch];
  if (!goArch || !['linux', 'darwin', 'windows'].includes(os)) {
    throw new KeystoneError(`no k3d release binary for ${platform}/${arch}`, { hint: manualInstallHint() });
  }
  return `k3d-${os}-${goArch}${os === 'windows' ? '.exe' : ''}`;
}

/** checksums.txt lines are "<sha256>  _dist/k3d-linux-amd64": match on the file's base name. */
export function checksumFor(checksums: string, asset: string): string | undefined {
  for (const line of checksums.split('\n')) {
    const [hash, file] = line.trim().split(/\s+/);
    if (hash && file && file.replace(/^\*/, '').split('/').pop() === asset && /^[0-9a-f]{64}$/i.test(hash)) {
      return hash.toLowerCase();
    }
  }
  return undefined;
}

function manualInstallHint(): string {
  return `install k3d ${k3dReleaseVersion} yourself (https://k3d.io/#installation) and make sure it is on PATH, then run keystone setup again`;
}

export interface InstallOptions {
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export async function installK3d(options: InstallOptions): Promise<string> {
  const asset = releaseAssetName(options.platform ?? process.platform, options.arch ?? process.arch);
  const base = (options.env[releaseBaseEnv] || defaultReleaseBase).replace(/\/$/, '');
  const binaryUrl = `${base}/${k3dReleaseVersion}/${asset}`;
  const checksumsUrl = `${base}/${k3dReleaseVersion}/checksums.txt`;
  const timeoutMs = options.timeoutMs ?? 120_000;
  options.log?.(`downloading ${binaryUrl}`);

  const checksums = (await download(checksumsUrl, timeoutMs)).toString('utf8');
  const expected = checksumFor(checksums, asset);
  if (!expected) {
    throw new KeystoneError(
      `the k3d ${k3dReleaseVersion} release publishes no checksum for ${asset}; not installing it`,
      {
        hint: manualInstallHint(),
      },
    );
  }
  const binary = await download(binaryUrl, timeoutMs);
  const actual = createHash('sha256').update(binary).digest('hex');
  if (actual !== expected) {
    throw new KeystoneError(
      `checksum mismatch for ${asset}: expected ${expected}, got ${actual}; the download was discarded`,
      {
        hint: manualInstallHint(),
      },
    );
  }

  const dir = keystoneBinDir(options.env);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const finalPath = join(dir, asset.endsWith('.exe') ? 'k3d.exe' : 'k3d');
  // Written under a temporary name and renamed only once verified and executable, so an
  // interrupted install never leaves a k3d that looks usable.
  const partial = `${finalPath}.partial-${process.pid}`;
  try {
    await writeFile(partial, binary, { mode: 0o600 });
    await chmod(partial, 0o755);
    await rename(partial, finalPath);
  } catch (err) {
    await rm(partial, { force: true });
    throw new KeystoneError(`could not install k3d into ${dir}: ${(err as Error).message}`, {
      hint: manualInstallHint(),
    });
  }
  return finalPath;
}

async function download(url: string, timeoutMs: number): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new KeystoneError(`cannot download ${url} (${cause}); are you offline?`, { hint: manualInstallHint() });
  }
  if (!response.ok) {
    throw new KeystoneError(`cannot download ${url}: HTTP ${response.status}`, { hint: manualInstallHint() });
  }
  return Buffer.from(await response.arrayBuffer());
}
