/**
 * Loading k8s/manifests/*.yaml: every document of every file in file-name order, each checked
 * against the Kubernetes schemas (kubernetes-models) before anything is applied.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loadYaml } from '../yaml-module.js';
import { contentHash, type CachedDocument, type ManifestCache } from './manifest-cache.js';
import { KeystoneError } from '../errors.js';
import { kindInfo, knownKinds, type KindInfo } from './kinds.js';

export interface Manifest {
  /** "k8s/manifests/10-redis.yaml:12" for messages. */
  source: string;
  object: KubeObject & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
  info: KindInfo;
}
import { dns1123Subdomain, dns1123SubdomainMaxLength } from '../vocabulary.js';
import type { KubeObject } from '../kube/objects.js';

function invalid(source: string, message: string): KeystoneError {
  return new KeystoneError(`${source}: ${message}`, {
    hint: 'fix the manifest; nothing was applied',
    exitCode: 2,
  });
}

export async function loadManifests(dir: string, cwd: string, cache?: ManifestCache): Promise<Manifest[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch {
    throw new KeystoneError(`cannot read the manifests directory ${dir}`, {
      hint: 'run keystone from the project directory, or set KEYSTONE_PROJECT_DIR',
    });
  }
  await cache?.load();
  const manifests: Manifest[] = [];
  const toValidate: Manifest[] = [];
  const fresh: { hash: string; docs: CachedDocument[] }[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const label = relative(cwd, path) || path;
    const text = await readFile(path, 'utf8');
    const hash = contentHash(text);
    const known = cache?.get(hash);
    const docs = known ?? (await parseDocuments(text, label));
    for (const { line, object } of docs) {
      const source = `${label}:${line}`;
      const manifest = {
        source,
        object: object as Manifest['object'],
        info: checkShape(object as Manifest['object'], source),
      };
      manifests.push(manifest);
      if (!known) toValidate.push(manifest);
    }
    if (!known) fresh.push({ hash, docs });
  }
  await validateWithSchemas(toValidate);
  for (const { hash, docs } of fresh) cache?.set(hash, docs);
  cache?.save();
  return manifests;
}

/** A file's YAML documents (empty ones between --- dropped), with the line each starts on. */
async function parseDocuments(text: string, label: string): Promise<CachedDocument[]> {
  const { LineCounter, parseAllDocuments } = await loadYaml();
  const lineCounter = new LineCounter();
  const docs: CachedDocument[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter, uniqueKeys: true })) {
    const line = doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]).line : 1;
    const error = doc.errors[0];
    if (error) {
      const pos = lineCounter.linePos(error.pos[0]);
      throw invalid(`${label}:${pos.line}:${pos.col}`, `invalid YAML: ${error.message.split('\n')[0]}`);
    }
    const object = doc.toJS() as unknown;
    if (object === null || object === undefined) continue; // an empty document between ---
    docs.push({ line, object });
  }
  return docs;
}

function checkShape(object: Manifest['object'], source: string): KindInfo {
  if (typeof object !== 'object' || Array.isArray(object))
    throw invalid(source, 'a manifest must be a mapping (an object)');
  if (!object.apiVersion || !object.kind) throw invalid(source, 'apiVersion and kind are required');
  const info = kindInfo(object.apiVersion, object.kind);
  if (!info)
    throw invalid(
      source,
      `keystone does not apply ${object.apiVersion}/${object.kind} (it applies ${knownKinds().join(', ')})`,
    );
  const name = object.metadata?.name;
  if (!name || !dns1123Subdomain.test(name) || name.length > dns1123SubdomainMaxLength) {
    throw invalid(
      source,
      `${object.kind} metadata.name "${name ?? ''}" is not a valid name (lower-case letters, digits, "-" and ".")`,
    );
  }
  if (info.namespaced && !object.metadata.namespace) {
    throw invalid(source, `${object.kind} ${name} has no metadata.namespace; keystone does not guess one`);
  }
  return info;
}

async function validateWithSchemas(manifests: Manifest[]): Promise<void> {
  for (const m of manifests) {
    const module = (await m.info.model()) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = module[m.info.kind];
    if (!Model) continue;
    try {
      new Model(m.object).validate();
    } catch (err) {
      const detail = (err as Error).message
        .split(', ')[0]
        ?.replace(/^data\//, '')
        .replace(/\//g, '.');
      throw invalid(m.source, `${m.object.kind} ${m.object.metadata.name} is not a valid Kubernetes object: ${detail}`);
    }
  }
}
