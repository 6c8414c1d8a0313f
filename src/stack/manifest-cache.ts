/**
 * Manifests that were parsed and schema-checked before, remembered by a hash of their file's
 * content: an unchanged k8s/manifests is not parsed and validated again on every `apply`/`setup`
 * (~60 ms). A changed file has another hash, so it is checked again; a cache that cannot be read
 * or written only costs that time. It lives in keystone's home, 0600 (manifests hold no secrets,
 * but a project's may).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keystoneHome, saveCacheFile } from '../keystone-home.js';

/** One YAML document of a file: its first line and the object it holds. */
export interface CachedDocument {
  line: number;
  object: unknown;
}

interface CacheFile {
  /** The keystone version that validated these; another version validates again. */
  version: string;
  files: Record<string, CachedDocument[]>;
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ManifestCache {
  private entries: Record<string, CachedDocument[]> = {};
  private readonly used: Record<string, CachedDocument[]> = {};
  private changed = false;

  constructor(
    private readonly path: string,
    private readonly version: string,
  ) {}

  async load(): Promise<void> {
    try {
      const file = JSON.parse(await readFile(this.path, 'utf8')) as CacheFile;
      if (file.version === this.version && file.files && typeof file.files === 'object') this.entries = file.files;
    } catch {
      // no cache yet, or unreadable: everything is validated
    }
  }

  get(hash: string): CachedDocument[] | undefined {
    const docs = this.entries[hash];
    if (docs) this.used[hash] = docs;
    return docs;
  }

  /** Remembers a file's documents once all of the files validated. */
  set(hash: string, docs: CachedDocument[]): void {
    this.used[hash] = docs;
    this.changed = true;
  }

  /** Writes what this run used (so entries of old file versions go), if anything was new. */
  save(): void {
    if (!this.changed && Object.keys(this.used).length === Object.keys(this.entries).length) return;
    saveCacheFile(this.path, { version: this.version, files: this.used } satisfies CacheFile);
  }
}

/** The cache of this keystone version, in keystone's home (KEYSTONE_HOME or ~/.local/share/keystone). */
export function manifestCache(o: { env: NodeJS.ProcessEnv; version: string }): ManifestCache {
  return new ManifestCache(join(keystoneHome(o.env), 'cache', 'manifests.json'), o.version);
}
