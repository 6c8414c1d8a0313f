/**
 * The yaml package, loaded on demand. It is CommonJS for Node, so in the bundle a dynamic import
 * yields it under `default`; this picks whichever shape arrives.
 */
import type * as Yaml from 'yaml';

export async function loadYaml(): Promise<typeof Yaml> {
  const loaded = (await import('yaml')) as typeof Yaml & { default?: typeof Yaml };
  return loaded.default ?? loaded;
}
