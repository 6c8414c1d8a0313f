/**
 * The k3d cluster config (k3d.io/v1alpha5, kind Simple): parsed with positions, validated first
 * against k3d v5.8.3's own JSON schema (the same rules `k3d cluster create --config` applies:
 * unknown fields, types, formats) and then with zod for what keystone needs beyond that, and
 * resolved (absolute host paths) before k3d sees it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { z } from 'zod';
import { KeystoneError } from '../errors.js';
import { parseYamlDocument, positionOfKey, positionOfPath } from './yaml-positions.js';
import { loadYaml } from '../yaml-module.js';
import { validate as validateK3dSchema, type K3dSchemaError } from './k3d-config-validator.generated.js';

import { dns1123Label } from '../vocabulary.js';
const portMapping = z
  .string()
  .regex(/^(?:[^:]+:)?\d{1,5}:\d{1,5}(?:\/(?:tcp|udp))?$/, 'must look like HOSTPORT:CONTAINERPORT, e.g. "8080:80"');

/**
 * keystone's rules on top of k3d's schema. Loose objects: a field the schema accepts passes
 * through to k3d untouched (the schema, not zod, decides which fields exist).
 */
export const clusterConfigSchema = z
  .looseObject({
    apiVersion: z.literal('k3d.io/v1alpha5'),
    kind: z.literal('Simple'),
    metadata: z.looseObject({
      name: z
        .string({ error: 'is required: keystone names the cluster, its context and its hints after it' })
        .max(32, 'must be at most 32 characters (k3d prefixes it to node names)')
        .regex(dns1123Label, 'must be lower-case letters, digits and "-", starting and ending with a letter or digit'),
    }, { error: 'is required (metadata.name names the cluster)' }),
    servers: z.number({ error: 'is required' }).int('must be a whole number').max(9),
    agents: z.number().int('must be a whole number').max(32).default(0),
    ports: z.array(z.looseObject({ port: portMapping })).optional(),
    volumes: z.array(z.looseObject({ volume: z.string().min(3) })).optional(),
    files: z.array(z.looseObject({ source: z.string(), destination: z.string() })).optional(),
    registries: z
      .looseObject({
        create: z
          .looseObject({
            name: z.string().optional(),
            host: z.string().optional(),
            hostPort: z.string().regex(/^\d{1,5}$/, 'must be a port number in quotes, e.g. "5000"').optional(),
          })
          .optional(),
      })
      .optional(),
    options: z
      .looseObject({
        k3d: z
          .looseObject({
            timeout: z.string().regex(/^(\d+h)?(\d+m)?(\d+s)?$/, 'must be a duration like "300s" or "5m"').optional(),
          })
          .optional(),
        // Types only: k3d's schema already requires booleans here.
        kubeconfig: z.looseObject({ updateDefaultKubeconfig: z.boolean().optional(), switchCurrentContext: z.boolean().optional() }).optional(),
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    for (const [i, p] of (config.ports ?? []).entries()) {
      const host = hostPortOf(p.port);
      const first = seen.get(host);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['ports', i, 'port'], message: `host port ${host} is already used by ports[${first}]` });
      } else seen.set(host, i);
    }
    const registryPort = config.registries?.create?.hostPort;
    if (registryPort !== undefined && seen.has(registryPort)) {
      ctx.addIssue({
        code: 'custom',
        path: ['registries', 'create', 'hostPort'],
        message: `host port ${registryPort} is also mapped in ports`,
      });
    }
  });

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

export interface LoadedClusterConfig {
  path: string;
  config: ClusterConfig;
}

/** "8080:80" → "8080"; "127.0.0.1:8080:80/tcp" → "8080". */
export function hostPortOf(mapping: string): string {
  const parts = mapping.replace(/\/(tcp|udp)$/, '').split(':');
  return parts[parts.length - 2] ?? '';
}

/** Host ports the cluster will bind: the load balancer mappings and the registry. */
export function hostPortsOf(config: ClusterConfig): number[] {
  const ports = (config.ports ?? []).map((p) => Number(hostPortOf(p.port)));
  const registry = config.registries?.create?.hostPort;
  if (registry !== undefined) ports.push(Number(registry));
  return ports;
}

const configHint = 'see https://k3d.io/v5.8.3/usage/configfile/ for the k3d.io/v1alpha5 fields';

/** "/ports/0/port" (a JSON pointer) as a path into the YAML document. */
function pointerPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** One line for the first schema error, worded for a person rather than for ajv. */
function describeSchemaError(e: K3dSchemaError): { path: (string | number)[]; message: string; hint?: string; atKey?: boolean } {
  const path = pointerPath(e.instancePath);
  const p = e.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[]; type?: string; limit?: number; format?: string };
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const hint =
        key === 'manifests' && path.length === 0
          ? 'k3d v5.8.3 has no "manifests" field; to put files on the nodes use "files" (source, destination, nodeFilters)'
          : undefined;
      return { path: [...path, key], atKey: true, message: `unknown field "${key}" (k3d v5.8.3 would refuse this config)`, ...(hint ? { hint } : {}) };
    }
    case 'required':
      return { path, message: `missing required field "${p.missingProperty}"` };
    case 'enum':
      return { path, message: `must be ${(p.allowedValues ?? []).map((v) => JSON.stringify(v)).join(' or ')}` };
    case 'type':
      return { path, message: `must be ${p.type === 'array' || p.type === 'object' ? 'an' : 'a'} ${p.type}` };
    case 'minimum':
      return { path, message: `must be at least ${p.limit}` };
    case 'format':
      return { path, message: `must be a valid ${p.format === 'ipv4' ? 'IPv4 address' : p.format}` };
    default:
      return { path, message: e.message ?? `fails k3d's ${e.keyword} rule` };
  }
}

export function parseClusterConfig(text: string, path: string): ClusterConfig {
  const { doc, lineCounter } = parseYamlDocument(text, path);
  const data: unknown = doc.toJS();
  const fail = (issuePath: (string | number)[], message: string, hint = configHint, atKey = false): never => {
    const where = (atKey ? positionOfKey : positionOfPath)(doc, lineCounter, issuePath);
    const field = issuePath.length > 0 ? issuePath.join('.') : '(top level)';
    throw new KeystoneError(`${path}${where}: ${field}: ${message}`, { hint, exitCode: 2 });
  };
  if (!validateK3dSchema(data)) {
    const first = validateK3dSchema.errors?.[0];
    if (first) {
      const { path: issuePath, message, hint, atKey } = describeSchemaError(first);
      fail(issuePath, message, hint, atKey);
    }
  }
  const result = clusterConfigSchema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  return fail(issue.path as (string | number)[], issue.message);
}

export async function loadClusterConfig(path: string): Promise<LoadedClusterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KeystoneError(`cannot read cluster config ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      hint: 'pass --config PATH, or run keystone from the project directory',
      exitCode: 2,
    });
  }
  return { path, config: parseClusterConfig(text, path) };
}

/**
 * Host paths in `volumes` made absolute against the project root, so the cluster mounts
 * the same directory whatever directory keystone (and so k3d) runs in.
 */
export function resolveHostPaths(config: ClusterConfig, projectRoot: string): ClusterConfig {
  const volumes = config.volumes?.map((v) => {
    const sep = v.volume.indexOf(':');
    if (sep <= 0) return v;
    const host = v.volume.slice(0, sep);
    const rest = v.volume.slice(sep);
    if (isAbsolute(host) || !(host.startsWith('.') || host.includes('/'))) return v; // a named docker volume stays as is
    return { ...v, volume: `${resolve(projectRoot, host)}${rest}` };
  });
  return volumes ? { ...config, volumes } : config;
}

/** Host directories the config mounts into the nodes (after resolveHostPaths). */
export function hostMountDirs(config: ClusterConfig): string[] {
  return (config.volumes ?? [])
    .map((v) => v.volume.slice(0, v.volume.indexOf(':')))
    .filter((host) => isAbsolute(host));
}

/**
 * Writes the resolved config for k3d into a private temporary directory (0600). k3d reads a
 * one-line `files[].source` as a path joined to the config file's directory (k3d-io/k3d v5.8.3
 * pkg/util/files.go ReadFileSource: filepath.Join(filepath.Dir(configFile), source); a multi-line
 * source is the content itself), so each is rewritten to reach, from the temporary directory,
 * the file it named next to the user's config.
 */
export async function writeResolvedConfig(config: ClusterConfig, configPath: string): Promise<string> {
  const { stringify } = await loadYaml();
  const dir = await mkdtemp(join(tmpdir(), 'keystone-'));
  const file = join(dir, 'k3d-cluster-config.yaml');
  const files = config.files?.map((f) =>
    f.source.includes('\n') ? f : { ...f, source: relative(dir, join(dirname(resolve(configPath)), f.source)) },
  );
  await writeFile(file, stringify(files ? { ...config, files } : config), { mode: 0o600 });
  return file;
}
