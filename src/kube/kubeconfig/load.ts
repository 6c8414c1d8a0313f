/**
 * Reading a list of kubeconfig files exactly as kubectl does (kubernetes/client-go
 * tools/clientcmd/loader.go, ClientConfigLoadingRules.Load and LoadFromFile):
 * - a listed file that does not exist is skipped (only an explicit --kubeconfig must exist);
 * - an empty file is an empty config (`Load`: "if there's no data in a file, return the default object");
 * - a file that cannot be read or decoded is an error naming that file ("error loading config file");
 * - for clusters, users and contexts the first file to define a name wins, whole entry and all;
 * - current-context comes from the first file that sets it;
 * - relative paths in an entry are resolved against the directory of the file it came from.
 * Every entry remembers its file (client-go's LocationOfOrigin): kubectl writes changes back there.
 */
// Synchronous reads of small local files: cheaper than loading Node's fs/promises, which
// every TAB would pay for (docs/performance.md).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { KeystoneError } from '../../errors.js';
import { loadYaml } from '../../yaml-module.js';
import { plainYaml } from '../../plain-yaml.js';

export type Section = 'clusters' | 'users' | 'contexts';
export const sections: readonly Section[] = ['clusters', 'users', 'contexts'];
const singular: Record<Section, string> = { clusters: 'cluster', users: 'user', contexts: 'context' };
/** The key holding an entry's body: `{ name, cluster: {...} }`, `{ name, user }`, `{ name, context }`. */
export const bodyKey: Record<Section, 'cluster' | 'user' | 'context'> = {
  clusters: 'cluster',
  users: 'user',
  contexts: 'context',
};

/** One named entry as written in a kubeconfig file. */
export interface RawEntry {
  name: string;
  [key: string]: unknown;
}

export interface Located {
  entry: RawEntry;
  /** The file the entry was read from (client-go's LocationOfOrigin). */
  file: string;
}

export interface KubeconfigFile {
  file: string;
  entries: Record<Section, RawEntry[]>;
  currentContext: string | undefined;
}

export interface MergedKubeconfig {
  /** Every file considered, in order. */
  files: string[];
  /** The files that existed and were read. */
  read: string[];
  /** Listed files that do not exist (skipped). */
  missing: string[];
  entries: Record<Section, Map<string, Located>>;
  currentContext: string | undefined;
}

/** A kubeconfig file that exists but that kubectl would refuse too; `file` is that file alone. */
export class KubeconfigFileError extends KeystoneError {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`kubeconfig ${file} ${reason}`, {
      hint: `kubectl refuses it too: fix or move ${file}, or leave it out of KUBECONFIG`,
    });
    this.name = 'KubeconfigFileError';
  }
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One file as kubectl's LoadFromFile reads it; undefined when it does not exist. */
export async function readKubeconfigFile(file: string): Promise<KubeconfigFile | undefined> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Go's os.IsNotExist is true for ENOENT only: a directory or an unreadable file is an error.
    if (code === 'ENOENT') return undefined;
    throw new KubeconfigFileError(
      file,
      `cannot be read (${code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (code ?? String(err))})`,
    );
  }
  // kubectl decodes with sigs.k8s.io/yaml (go-yaml, YAML 1.1). The files k3d, kind and kubectl
  // write are read without the yaml library (~20 ms); anything else goes through it.
  let doc: unknown = plainYaml(text, '1.1');
  try {
    if (doc === undefined) doc = (await loadYaml()).parse(text, { version: '1.1' });
  } catch (err) {
    throw new KubeconfigFileError(file, `is not valid YAML: ${firstLine(err)}`);
  }
  const empty: KubeconfigFile = { file, entries: { clusters: [], users: [], contexts: [] }, currentContext: undefined };
  if (doc === null || doc === undefined) return empty; // empty, or only comments: an empty config
  if (!isMapping(doc))
    throw new KubeconfigFileError(
      file,
      `is not a kubeconfig (it is a YAML ${Array.isArray(doc) ? 'list' : 'scalar'}, not a mapping)`,
    );
  for (const section of sections) {
    const list = doc[section];
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list)) throw new KubeconfigFileError(file, `is not a kubeconfig: "${section}" must be a list`);
    const seen = new Set<string>();
    for (const [i, item] of list.entries()) {
      if (!isMapping(item))
        throw new KubeconfigFileError(file, `is not a kubeconfig: ${section}[${i}] must be a mapping`);
      const name = item.name ?? '';
      if (typeof name !== 'string')
        throw new KubeconfigFileError(file, `is not a kubeconfig: ${section}[${i}].name must be a string`);
      const body = item[bodyKey[section]];
      if (body !== null && body !== undefined && !isMapping(body)) {
        throw new KubeconfigFileError(
          file,
          `is not a kubeconfig: ${section}[${i}].${bodyKey[section]} must be a mapping`,
        );
      }
      // client-go's conversion refuses a name listed twice in one file ("duplicate name ... in list").
      if (seen.has(name)) throw new KubeconfigFileError(file, `lists ${singular[section]} "${name}" twice`);
      seen.add(name);
      empty.entries[section].push({ ...item, name });
    }
  }
  const current = doc['current-context'];
  if (current !== null && current !== undefined && typeof current !== 'string') {
    throw new KubeconfigFileError(file, 'is not a kubeconfig: "current-context" must be a string');
  }
  empty.currentContext = current || undefined;
  return empty;
}

/** Reads and merges the files in order (first wins); `explicit` is --kubeconfig, which must exist. */
export async function loadKubeconfigs(
  files: readonly string[],
  options: { explicit?: boolean } = {},
): Promise<MergedKubeconfig> {
  const merged: MergedKubeconfig = {
    files: [...files],
    read: [],
    missing: [],
    entries: { clusters: new Map(), users: new Map(), contexts: new Map() },
    currentContext: undefined,
  };
  for (const file of files) {
    const loaded = await readKubeconfigFile(file);
    if (!loaded) {
      if (options.explicit)
        throw new KeystoneError(`kubeconfig ${file} does not exist`, {
          hint: 'check the --kubeconfig path',
          exitCode: 2,
        });
      merged.missing.push(file);
      continue;
    }
    merged.read.push(file);
    for (const section of sections) {
      for (const entry of loaded.entries[section]) {
        if (!merged.entries[section].has(entry.name)) merged.entries[section].set(entry.name, { entry, file });
      }
    }
    merged.currentContext ??= loaded.currentContext;
  }
  return merged;
}

/** "a.yaml, b.yaml" plus the skipped ones, for messages. */
export function describeSources(merged: MergedKubeconfig): string {
  if (merged.read.length === 0) {
    if (merged.files.length === 1) return `any kubeconfig (${merged.files[0]} does not exist)`;
    return `any kubeconfig (none of ${merged.files.join(', ')} exists)`;
  }
  const skipped = merged.missing.length
    ? `; ${merged.missing.join(', ')} ${merged.missing.length === 1 ? 'does' : 'do'} not exist`
    : '';
  return `${merged.read.join(', ')}${skipped}`;
}

function body(located: Located, section: Section): Record<string, unknown> {
  const value = located.entry[bodyKey[section]];
  return isMapping(value) ? value : {};
}

/** client-go ResolveLocalPaths: the file references of an entry, relative to its file's directory. */
function resolvePaths(located: Located, section: Section): RawEntry {
  const base = resolve(dirname(located.file));
  const fix = (value: unknown) =>
    typeof value === 'string' && value !== '' && !isAbsolute(value) ? join(base, value) : value;
  const copy = { ...body(located, section) };
  const keys =
    section === 'clusters'
      ? ['certificate-authority']
      : section === 'users'
        ? ['client-certificate', 'client-key', 'token-file']
        : [];
  for (const key of keys) if (key in copy) copy[key] = fix(copy[key]);
  // An exec plugin's command is resolved only when it is a path, not a name looked up on PATH.
  if (
    section === 'users' &&
    isMapping(copy.exec) &&
    typeof copy.exec.command === 'string' &&
    copy.exec.command.includes(sep)
  ) {
    copy.exec = { ...copy.exec, command: fix(copy.exec.command) };
  }
  return { name: located.entry.name, [bodyKey[section]]: copy };
}

export interface ContextSelection {
  context: Located;
  cluster: Located;
  user: Located;
  /** A kubeconfig document holding just these three entries, paths made absolute. */
  document: Record<string, unknown>;
}

export interface SelectHints {
  /** Hint when the context or an entry it names is missing or incomplete. */
  repair: string;
}

/**
 * The context keystone was asked for, with its cluster and user, as kubectl's validation
 * wants them (client-go validation.go validateContext: the cluster and user must exist).
 */
export function selectContext(merged: MergedKubeconfig, name: string, hints: SelectHints): ContextSelection {
  const where = describeSources(merged);
  const context = merged.entries.contexts.get(name);
  if (!context) {
    const known = [...merged.entries.contexts.keys()];
    throw new KeystoneError(
      `context "${name}" is not in ${where}${merged.read.length ? (known.length ? ` (contexts: ${known.join(', ')})` : ' (it has no contexts)') : ''}`,
      { hint: hints.repair },
    );
  }
  const spec = body(context, 'contexts');
  const lookup = (section: 'clusters' | 'users'): Located => {
    const field = section === 'clusters' ? 'cluster' : 'user';
    const wanted = spec[field];
    if (typeof wanted !== 'string' || wanted === '') {
      throw new KeystoneError(`context "${name}" (in ${context.file}) names no ${field}`, { hint: hints.repair });
    }
    const found = merged.entries[section].get(wanted);
    if (!found) {
      throw new KeystoneError(
        `context "${name}" (in ${context.file}) names ${field} "${wanted}", which is not in ${where}`,
        { hint: hints.repair },
      );
    }
    return found;
  };
  const cluster = lookup('clusters');
  const user = lookup('users');
  const server = body(cluster, 'clusters').server;
  if (typeof server !== 'string' || server === '') {
    throw new KeystoneError(`cluster "${cluster.entry.name}" (in ${cluster.file}) has no server address`, {
      hint: hints.repair,
    });
  }
  return {
    context,
    cluster,
    user,
    document: {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [resolvePaths(cluster, 'clusters')],
      users: [resolvePaths(user, 'users')],
      contexts: [{ name, context: spec }],
      'current-context': name,
    },
  };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
