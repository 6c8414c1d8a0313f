// Unchanged manifests are not parsed and schema-checked on every apply; a changed file always is.
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests } from '../../src/stack/manifests.js';
import { ManifestCache, contentHash } from '../../src/stack/manifest-cache.js';

const valid = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: keystone}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
`;
// Valid YAML and a valid shape, but not a valid Deployment: replicas must be an integer.
const schemaInvalid = valid.replace('replicas: 1', 'replicas: "two"');

async function project(text: string) {
  const root = await mkdtemp(join(tmpdir(), 'keystone-cache-'));
  await mkdir(join(root, 'manifests'));
  await writeFile(join(root, 'manifests', '10-web.yaml'), text);
  return { root, dir: join(root, 'manifests'), cacheFile: join(root, 'home', 'cache', 'manifests.json') };
}

describe('manifest cache', () => {
  it('remembers a validated file by its content hash (0600), and returns the same objects from it', async () => {
    const p = await project(valid);
    const first = await loadManifests(p.dir, p.root, new ManifestCache(p.cacheFile, '1.0.0'));
    const stored = JSON.parse(await readFile(p.cacheFile, 'utf8'));
    expect(Object.keys(stored.files)).toEqual([contentHash(valid)]);
    const { stat } = await import('node:fs/promises');
    expect((await stat(p.cacheFile)).mode & 0o777).toBe(0o600);
    const second = await loadManifests(p.dir, p.root, new ManifestCache(p.cacheFile, '1.0.0'));
    expect(second.map((m) => [m.source, m.object])).toEqual(first.map((m) => [m.source, m.object]));
  });

  it('a changed file is validated again (a schema error is caught), and a cached one is not', async () => {
    const p = await project(valid);
    await loadManifests(p.dir, p.root, new ManifestCache(p.cacheFile, '1.0.0'));
    await writeFile(join(p.dir, '10-web.yaml'), schemaInvalid);
    await expect(loadManifests(p.dir, p.root, new ManifestCache(p.cacheFile, '1.0.0'))).rejects.toThrow(
      /is not a valid Kubernetes object/,
    );
    // The cache is what skips the check: the same content recorded as validated is taken as it is.
    await writeFile(
      p.cacheFile,
      JSON.stringify({
        version: '1.0.0',
        files: {
          [contentHash(schemaInvalid)]: [
            {
              line: 1,
              object: {
                apiVersion: 'apps/v1',
                kind: 'Deployment',
                metadata: { name: 'web', namespace: 'keystone' },
                spec: { replicas: 'two' },
              },
            },
          ],
        },
      }),
    );
    await expect(loadManifests(p.dir, p.root, new ManifestCache(p.cacheFile, '1.0.0'))).resolves.toHaveLength(1);
    // ...but only for the keystone version that wrote it.
    await expect(loadManifests(p.dir, p.root, new ManifestCache(p.cacheFile, '1.0.1'))).rejects.toThrow(
      /is not a valid Kubernetes object/,
    );
  });

  it('an unreadable or unwritable cache only means validating again', async () => {
    const p = await project(valid);
    await mkdir(join(p.root, 'home'), { recursive: true });
    await writeFile(join(p.root, 'home', 'cache'), 'a file where the cache directory should be');
    await expect(loadManifests(p.dir, p.root, new ManifestCache(p.cacheFile, '1.0.0'))).resolves.toHaveLength(1);
    await writeFile(join(p.root, 'garbage.json'), '{not json');
    await expect(
      loadManifests(p.dir, p.root, new ManifestCache(join(p.root, 'garbage.json'), '1.0.0')),
    ).resolves.toHaveLength(1);
  });
});
