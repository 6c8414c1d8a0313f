/**
 * The simulation tools for completion, without loading the profile validation (zod and the yaml
 * library, ~50 ms) on every TAB: the names of a profiles file that validated are remembered by
 * a hash of its content in keystone's home, as the manifest cache does; a changed file is
 * validated again, and a file that does not validate offers no names (and is not remembered).
 */
import { createHash } from 'node:crypto';
// Synchronous reads of small local files: cheaper than loading Node's fs/promises, which
// every TAB would pay for (docs/performance.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../app-context.js';
import { keystoneHome, saveCacheFile } from '../keystone-home.js';

interface Remembered {
  version: string;
  hash: string;
  names: string[];
}

export async function knownTools(app: Pick<AppContext, 'env' | 'version' | 'cwd' | 'paths'>): Promise<string[]> {
  let text: string;
  try {
    text = readFileSync(app.paths.profiles, 'utf8');
  } catch {
    return []; // no profiles file: no tool names to offer
  }
  const hash = createHash('sha256').update(text).digest('hex');
  const file = join(keystoneHome(app.env), 'cache', 'tool-names.json');
  try {
    const remembered = JSON.parse(readFileSync(file, 'utf8')) as Remembered;
    if (remembered.version === app.version && remembered.hash === hash && Array.isArray(remembered.names))
      return remembered.names;
  } catch {
    // nothing remembered yet, or unreadable: validate
  }
  let names: string[];
  try {
    const { parseProfiles } = await import('../runs/request/profiles.js');
    names = Object.keys(parseProfiles(text, app.paths.profiles));
  } catch {
    return []; // a broken profiles file: no tool names to offer
  }
  saveCacheFile(file, { version: app.version, hash, names } satisfies Remembered);
  return names;
}
