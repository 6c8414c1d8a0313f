// Every installed package must run on the oldest Node keystone declares (package.json engines):
// otherwise `npm ci` warns EBADENGINE on a Node keystone says it supports, and the package may
// use what that Node lacks. The lock file records each package's own engines field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<
    string,
    { version?: string; engines?: { node?: string } | string[]; optional?: boolean; os?: string[] }
  >;
};

describe('engines', () => {
  it("every locked dependency accepts keystone's minimum Node version", () => {
    const minimum = semver.minVersion(pkg.engines.node);
    expect(minimum, `engines.node "${pkg.engines.node}" has no minimum`).not.toBeNull();
    const excluding: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '') continue;
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (range === undefined) continue;
      if (!semver.satisfies(minimum!, range))
        excluding.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}`);
    }
    expect(excluding, `keystone declares node ${pkg.engines.node}`).toEqual([]);
  });
});
