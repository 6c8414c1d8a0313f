/**
 * The k3d cluster config (k3d.io/v1alpha5, kind Simple): parsed with positions, validated
 * with zod at the edge, and resolved (absolute host paths) before k3d sees it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { z } from 'zod';
import { KeystoneError } from '../errors.js';
import { parseYamlDocument, positionOfPath } from './yaml-positions.js';
import { loadYaml } from '../yaml-module.js';

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const nodeFilters = z.array(z.string()).optional();
const portMapping = z
  .string()
  .regex(/^(?:[^:]+:)?\d{1,5}:\d{1,5}(?:\/(?:tcp|udp))?$/, 'must look like HOSTPORT:CONTAINERPORT, e.g. "8080:80"');

export const clusterConfigSchema = z
  .strictObject({
    apiVersion: z.literal('k3d.io/v1alpha5', { error: 'must be "k3d.io/v1alpha5"' }),
    kind: z.literal('Simple', { error: 'must be "Simple"' }),
    metadata: z.strictObject({
      name: z
        .string()
        .max(32, 'must be at most 32 characters (k3d prefixes it to node names)')
        .regex(dns1123Label, 'must be lower-case letters, digits and "-", starting and ending with a letter or digit'),
    }),
    servers: z.number().int().min(1, 'must be at least 1').max(9),
    agents: z.number().int().min(0).max(32).default(0),
    kubeAPI: z
      .strictObject({ host: z.string().optional(), hostIP: z.string().optional(), hostPort: z.string().optional() })
      .optional(),
    image: z.string().optional(),
    network: z.string().optional(),
    subnet: z.string().optional(),
    token: z.string().optional(),
    volumes: z.array(z.strictObject({ volume: z.string().min(3), nodeFilters })).optional(),
    ports: z.array(z.strictObject({ port: portMapping, nodeFilters })).optional(),
    manifests: z.unknown().optional(),
    env: z.array(z.unknown()).optional(),
    hostAliases: z.array(z.unknown()).optional(),
    registries: z
      .strictObject({
        create: z
          .strictObject({
            name: z.string().optional(),
            host: z.string().optional(),
            hostPort: z.string().regex(/^\d{1,5}$/, 'must be a port number in quotes, e.g. "5000"').optional(),
            image: z.string().optional(),
            proxy: z.unknown().optional(),
            volumes: z.array(z.string()).optional(),
          })
          .optional(),
        use: z.array(z.string()).optional(),
        config: z.string().optional(),
      })
      .optional(),
    options: z
      .strictObject({
        k3d: z
          .strictObject({
            wait: z.boolean().optional(),
            timeout: z.string().regex(/^(\d+h)?(\d+m)?(\d+s)?$/, 'must be a duration like "300s" or "5m"').optional(),
            disableLoadbalancer: z.boolean().optional(),
            disableImageVolume: z.boolean().optional(),
            disableRollback: z.boolean().optional(),
            loadbalancer: z.unknown().optional(),
          })
          .optional(),
        k3s: z.unknown().optional(),
        kubeconfig: z
          .strictObject({ updateDefaultKubeconfig: z.boolean().optional(), switchCurrentContext: z.boolean().optional() })
          .optional(),
        runtime: z.unknown().optional(),
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

export function parseClusterConfig(text: string, path: string): ClusterConfig {
  const { doc, lineCounter } = parseYamlDocument(text, path);
  const result = clusterConfigSchema.safeParse(doc.toJS());
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = positionOfPath(doc, lineCounter, issue.path as (string | number)[]);
  const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  const message =
    issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  throw new KeystoneError(`${path}${where}: ${field}: ${message}`, {
    hint: 'see https://k3d.io/stable/usage/configfile/ for the k3d.io/v1alpha5 fields',
    exitCode: 2,
  });
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

/** Writes the resolved config for k3d into a private temporary directory (0600). */
export async function writeResolvedConfig(config: ClusterConfig): Promise<string> {
  const { stringify } = await loadYaml();
  const dir = await mkdtemp(join(tmpdir(), 'keystone-'));
  const file = join(dir, 'k3d-cluster-config.yaml');
  await writeFile(file, stringify(config), { mode: 0o600 });
  return file;
}
