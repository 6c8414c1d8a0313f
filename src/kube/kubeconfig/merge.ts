/**
 * Writing a cluster's kubeconfig entries (what `k3d kubeconfig get` prints) where kubectl
 * would write them: client-go tools/clientcmd/config.go ModifyConfig writes an entry that
 * already exists back to the file it came from (LocationOfOrigin), and a new entry to
 * GetDefaultFilename() (the first listed file that exists, else the last listed; files.ts).
 * The current-context is never touched; files are written whole, atomically, mode 0600;
 * an entry that is already there as it should be is not written again.
 */
import { isDeepStrictEqual } from 'node:util';
import { chmod, mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeystoneError } from '../../errors.js';
import { loadYaml } from '../../yaml-module.js';
import { defaultKubeconfigFile } from './files.js';
import { bodyKey, loadKubeconfigs, readKubeconfigFile, sections, type RawEntry, type Section } from './load.js';

export interface EntryChange {
  section: Section;
  entry: RawEntry;
  /** True when an entry of that name is replaced, false when it is added. */
  replaces: boolean;
}

export interface MergePlan {
  context: string;
  /** The file that holds (or will hold) the context. */
  contextFile: string;
  /** File → the entries to write into it; empty when everything is already in place. */
  writes: Map<string, EntryChange[]>;
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The entries of one kubeconfig document as k3d prints it (`---` first, then the config). */
export async function parseFetchedKubeconfig(text: string, clusterName: string): Promise<Record<Section, RawEntry[]>> {
  const contextName = k3dEntryNames(clusterName).contexts;
  const { parse } = await loadYaml();
  let doc: unknown;
  try {
    doc = parse(text, { version: '1.1' });
  } catch {
    doc = undefined;
  }
  const entries: Record<Section, RawEntry[]> = { clusters: [], users: [], contexts: [] };
  if (isMapping(doc)) {
    for (const section of sections) {
      const list = doc[section];
      if (Array.isArray(list))
        entries[section] = list.filter((e): e is RawEntry => isMapping(e) && typeof e.name === 'string');
    }
  }
  const context = entries.contexts.find((c) => c.name === contextName);
  const spec = context && isMapping(context.context) ? context.context : undefined;
  if (
    !spec ||
    !entries.clusters.some((c) => c.name === spec.cluster) ||
    !entries.users.some((u) => u.name === spec.user)
  ) {
    throw new KeystoneError(`k3d printed a kubeconfig without a usable context "${contextName}"`, {
      hint: `check \`k3d version\` (keystone needs k3d >= 5.8) and what \`k3d kubeconfig get ${clusterName}\` prints`,
    });
  }
  // Just the context and what it names: k3d prints nothing else, but never write more than needed.
  return {
    contexts: [context!],
    clusters: entries.clusters.filter((c) => c.name === spec.cluster),
    users: entries.users.filter((u) => u.name === spec.user),
  };
}

/** Where each entry goes, and which are already in place; reads the files, writes nothing. */
export async function planKubeconfigMerge(
  fetched: Record<Section, RawEntry[]>,
  files: readonly string[],
): Promise<MergePlan> {
  // A file kubectl cannot read stops here (KubeconfigFileError names it): it is never overwritten.
  // An explicit --kubeconfig that does not exist yet is created, as kubectl config set-* does.
  const merged = await loadKubeconfigs(files);
  const fallback = await defaultKubeconfigFile(files);
  const writes = new Map<string, EntryChange[]>();
  const context = fetched.contexts[0]!.name;
  let contextFile = fallback;
  for (const section of sections) {
    for (const entry of fetched[section]) {
      const current = merged.entries[section].get(entry.name);
      const file = current?.file ?? fallback;
      if (section === 'contexts') contextFile = file;
      if (current && isDeepStrictEqual(current.entry[bodyKey[section]], entry[bodyKey[section]])) continue;
      const list = writes.get(file) ?? [];
      list.push({ section, entry, replaces: Boolean(current) });
      writes.set(file, list);
    }
  }
  return { context, contextFile, writes };
}

/** Writes the plan: each file re-read, its other content kept (comments too), replaced atomically. */
export async function applyKubeconfigMerge(plan: MergePlan): Promise<string[]> {
  const { Document, parseDocument, isMap, isSeq } = await loadYaml();
  const written: string[] = [];
  for (const [file, changes] of plan.writes) {
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(file, plan.context, err);
    }
    const parsed = parseDocument(text, { version: '1.1' });
    // An empty (or comment-only) file becomes a fresh config, as client-go would write it.
    const doc = isMap(parsed.contents)
      ? parsed
      : new Document({ apiVersion: 'v1', kind: 'Config' }, { version: '1.1' });
    for (const { section, entry } of changes) {
      const node = doc.createNode(entry);
      const list = doc.get(section);
      if (!isSeq(list)) {
        doc.set(section, doc.createNode([entry]));
        continue;
      }
      const at = list.items.findIndex((item) => isMap(item) && item.get('name') === entry.name);
      if (at >= 0) list.items[at] = node;
      else list.items.push(node);
    }
    await writeAtomically(file, doc.toString(), plan.context);
    written.push(file);
  }
  return written;
}

/** Temp file in the same directory, 0600, renamed over the target (through a symlink, as k3d's KubeconfigWrite does). */
async function writeAtomically(file: string, text: string, context: string): Promise<void> {
  const target = await realpath(file).catch(() => file);
  const temp = `${target}.keystone-${process.pid}-${Date.now()}`;
  try {
    // client-go WriteToFile creates missing directories with 0755.
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600); // whatever the umask
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw writeError(file, context, err);
  }
}

function writeError(file: string, context: string, err: unknown): KeystoneError {
  const code = (err as NodeJS.ErrnoException).code;
  return new KeystoneError(`cannot write context "${context}" into ${file}: ${code ?? (err as Error).message}`, {
    hint: `make ${dirname(file)} and ${file} writable by you, or pass --kubeconfig FILE`,
    cause: err,
  });
}

/** The names k3d gives a cluster's entries (k3d v5.8.3 pkg/client/kubeconfig.go KubeconfigGet / KubeconfigRemoveCluster). */
export function k3dEntryNames(clusterName: string): Record<Section, string> {
  const name = `k3d-${clusterName}`;
  return { clusters: name, users: `admin@${name}`, contexts: name };
}

/** The listed files holding any of these entries (files kubectl cannot read are left out: they are not touched). */
export async function filesHolding(names: Record<Section, string>, files: readonly string[]): Promise<string[]> {
  const holding: string[] = [];
  for (const file of files) {
    const loaded = await readKubeconfigFile(file).catch(() => undefined);
    if (loaded && sections.some((section) => loaded.entries[section].some((e) => e.name === names[section])))
      holding.push(file);
  }
  return holding;
}

/**
 * Removes a deleted cluster's entries from every listed file holding them (a copy left in a later
 * file would otherwise take over). The current-context is left as it is, as `kubectl config
 * delete-context` leaves it; returns the files whose current-context still names the context.
 */
export async function removeKubeconfigEntries(
  names: Record<Section, string>,
  files: readonly string[],
): Promise<{ changed: string[]; dangling: string[] }> {
  const { parseDocument, isMap, isSeq } = await loadYaml();
  const changed: string[] = [];
  const dangling: string[] = [];
  for (const file of await filesHolding(names, files)) {
    const doc = parseDocument(await readFile(file, 'utf8'), { version: '1.1' });
    for (const section of sections) {
      const list = doc.get(section);
      if (isSeq(list)) list.items = list.items.filter((item) => !(isMap(item) && item.get('name') === names[section]));
    }
    if (doc.get('current-context') === names.contexts) dangling.push(file);
    await writeAtomically(file, doc.toString(), names.contexts);
    changed.push(file);
  }
  return { changed, dangling };
}
