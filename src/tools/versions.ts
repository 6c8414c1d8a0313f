/** Reading and comparing the versions tools report about themselves. */
import { KeystoneError } from '../errors.js';

export interface Version {
  major: number;
  minor: number;
  patch: number;
  raw: string;
}

/** The first "vX.Y[.Z]" in a tool's output; undefined when there is none. */
export function parseVersion(text: string): Version | undefined {
  const m = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), raw: m[0] };
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatVersion(v: Pick<Version, 'major' | 'minor' | 'patch'>): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export const minimumVersions = {
  k3d: { major: 5, minor: 8, patch: 0, raw: '5.8.0' },
  kubectl: { major: 1, minor: 27, patch: 0, raw: '1.27.0' },
} as const satisfies Record<string, Version>;

/** `k3d version` prints "k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)": take the k3d line. */
export function parseK3dVersion(output: string): Version {
  const line = output.split('\n').find((l) => /^k3d version/i.test(l.trim()));
  const version = line ? parseVersion(line) : undefined;
  if (!version) throw unreadable('k3d', output);
  return version;
}

/** `kubectl version --client -o json` prints {"clientVersion": {"gitVersion": "v1.32.4", ...}}. */
export function parseKubectlVersion(output: string): Version {
  let gitVersion: unknown;
  try {
    gitVersion = (JSON.parse(output) as { clientVersion?: { gitVersion?: unknown } }).clientVersion?.gitVersion;
  } catch {
    gitVersion = undefined;
  }
  const version = typeof gitVersion === 'string' ? parseVersion(gitVersion) : undefined;
  if (!version) throw unreadable('kubectl', output);
  return version;
}

function unreadable(tool: string, output: string): KeystoneError {
  const shown = output.trim().split('\n')[0]?.slice(0, 120) ?? '';
  return new KeystoneError(`could not read ${tool}'s version from its output: "${shown}"`, {
    hint: `check that \`${tool}\` on PATH is the real ${tool} (\`which ${tool}\`), or reinstall it`,
  });
}
