/**
 * The k3d cluster config, read the way k3d v5.8.3 reads `k3d cluster create --config FILE`
 * (k3d-io/k3d v5.8.3 cmd/util/config/config.go InitViperWithConfigFile, pkg/config/config.go,
 * cmd/cluster/clusterCreate.go, pkg/config/transform.go), step by step:
 *   1. environment variables expanded in the whole text, as Go's os.ExpandEnv (expand-env.ts);
 *   2. parsed as YAML (positions kept and mapped back to the user's file);
 *   3. older versions (k3d.io/v1alpha3, v1alpha4) migrated to k3d.io/v1alpha5 as k3d migrates
 *      them (config-versions.ts); v1alpha2 refused, naming `k3d config migrate`;
 *   4. validated against k3d v5.8.3's own JSON schema (unknown fields, types, formats), which
 *      requires only apiVersion and kind;
 *   5. k3d's defaults filled in where keystone reads the field (metadata.name "k3s-default",
 *      servers 1, agents 0: clusterCreate.go cfgViper.SetDefault, transform.go) and recorded, so
 *      setup can say which values it used;
 *   6. checked with zod for what k3d refuses later (at `cluster create`, not in the schema) and
 *      for keystone's own rules, each worded as keystone's.
 * The result is resolved (absolute host paths) before k3d sees it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { z } from 'zod';
import type { Document } from 'yaml';
import { KeystoneError } from '../errors.js';
import { parseYamlDocument, rangeOfKey, rangeOfPath } from './yaml-positions.js';
import { loadYaml } from '../yaml-module.js';
import { validate as validateK3dSchema, type K3dSchemaError } from './k3d-config-validator.generated.js';
import { expandEnv, expansionsWithin, type ExpandedText } from './expand-env.js';
import { parsePortSpec } from './port-spec.js';
import { migrateConfigVersion, type VersionMigration } from './config-versions.js';
import { dns1123Label } from '../vocabulary.js';
import { k3dDefaults, type ConfigDefault } from './config-defaults.js';

export { describeDefaults, k3dDefaults, type ConfigDefault } from './config-defaults.js';

/** Appended to each check that is keystone's, not k3d's. */
const keystoneRule = (why: string) => `(keystone's rule, not k3d's: ${why})`;

/** Go's time.ParseDuration grammar (what k3d's viper decodes options.k3d.timeout with). */
const goDuration = /^[-+]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;

/**
 * keystone's checks after k3d's schema. Loose objects: a field the schema accepts passes
 * through to k3d untouched (the schema, not zod, decides which fields exist).
 */
export const clusterConfigSchema = z
  .looseObject({
    apiVersion: z.literal('k3d.io/v1alpha5'),
    kind: z.literal('Simple'),
    metadata: z.looseObject({
      // k3d-io/k3d v5.8.3 pkg/client/clusterName.go CheckName: at most 32 characters (DefaultClusterNameMaxLength).
      name: z
        .string()
        .max(
          32,
          'must be at most 32 characters (k3d v5.8.3 refuses longer cluster names: it prefixes them to node names)',
        )
        .regex(
          dns1123Label,
          `must be lower-case letters, digits and "-", starting and ending with a letter or digit ${keystoneRule('k3d also takes upper case and dots; keystone keeps a cluster name to one lower-case DNS label')}`,
        ),
    }),
    servers: z.number().int(`must be a whole number ${keystoneRule("k3d's schema only says number")}`),
    agents: z.number().int(`must be a whole number ${keystoneRule("k3d's schema only says number")}`),
    ports: z
      .array(
        z.looseObject({
          port: z.string().superRefine((port, ctx) => {
            const spec = parsePortSpec(port);
            if ('error' in spec)
              ctx.addIssue({
                code: 'custom',
                message: `is not a port mapping Docker takes (${spec.error}): k3d v5.8.3 would refuse it; the form is [IP:][HOSTPORT:]CONTAINERPORT[/PROTOCOL], e.g. "8080:80"`,
              });
          }),
        }),
      )
      .optional(),
    volumes: z.array(z.looseObject({ volume: z.string() })).optional(),
    files: z.array(z.looseObject({ source: z.string(), destination: z.string() })).optional(),
    registries: z
      .looseObject({
        create: z
          .looseObject({
            name: z.string().optional(),
            host: z.string().optional(),
            // k3d-io/k3d v5.8.3 cmd/util/ports.go apiPortRegexp: a port of 1-5 digits or "random" (the default).
            hostPort: z
              .string()
              .regex(
                /^(?:\d{1,5}|random)$/,
                'must be a port number in quotes (e.g. "5000") or "random" (k3d v5.8.3 refuses anything else)',
              )
              .refine(
                (p) => p === 'random' || Number(p) <= 65535,
                'must be at most 65535 (k3d passes it on, and Docker refuses to bind it)',
              )
              .optional(),
          })
          .optional(),
      })
      .optional(),
    options: z
      .looseObject({
        k3d: z
          .looseObject({
            timeout: z
              .string({
                error: `must be a duration in quotes, e.g. "300s" or "5m" ${keystoneRule('k3d would read a bare number as nanoseconds')}`,
              })
              .regex(
                goDuration,
                'must be a duration like "300s", "5m" or "1h30m" (k3d v5.8.3 reads it with Go\'s time.ParseDuration and refuses anything else)',
              )
              // k3d-io/k3d v5.8.3 pkg/config/validate.go ValidateClusterConfig.
              .refine(
                (t) => !(t.startsWith('-') && /[1-9]/.test(t)),
                'may not be negative (k3d v5.8.3 refuses a negative timeout)',
              )
              .optional(),
          })
          .optional(),
        // Types only: k3d's schema already requires booleans here.
        kubeconfig: z
          .looseObject({
            updateDefaultKubeconfig: z.boolean().optional(),
            switchCurrentContext: z.boolean().optional(),
          })
          .optional(),
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<number, number>();
    for (const [i, p] of (config.ports ?? []).entries()) {
      const spec = parsePortSpec(p.port);
      if ('error' in spec) continue;
      for (const host of spec.hostPorts) {
        const first = seen.get(host);
        if (first !== undefined && first !== i) {
          ctx.addIssue({
            code: 'custom',
            path: ['ports', i, 'port'],
            message: `host port ${host} is already used by ports[${first}] ${keystoneRule('keystone checks it before k3d starts; Docker can bind a host port only once')}`,
          });
          return;
        }
        seen.set(host, i);
      }
    }
    const registryPort = config.registries?.create?.hostPort;
    if (registryPort !== undefined && registryPort !== 'random' && seen.has(Number(registryPort))) {
      ctx.addIssue({
        code: 'custom',
        path: ['registries', 'create', 'hostPort'],
        message: `host port ${registryPort} is also mapped in ports[${seen.get(Number(registryPort))}] ${keystoneRule('keystone checks it before k3d starts; Docker can bind a host port only once')}`,
      });
    }
  });

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

export interface LoadedClusterConfig {
  path: string;
  config: ClusterConfig;
  /** Fields the file leaves out, with the value k3d v5.8.3 gives them (and keystone used). */
  defaults: ConfigDefault[];
  /** What the user should know about how the file was read (a migrated older version). */
  notes: string[];
}

/** Host ports the cluster will bind as written: the load balancer mappings and the registry (not those Docker picks). */
export function hostPortsOf(config: ClusterConfig): number[] {
  const ports = (config.ports ?? []).flatMap((p) => {
    const spec = parsePortSpec(p.port);
    return 'error' in spec ? [] : spec.hostPorts;
  });
  const registry = config.registries?.create?.hostPort;
  if (registry !== undefined && registry !== 'random') ports.push(Number(registry));
  return ports;
}

/** The host port mapped to a container port in `ports` (e.g. the ingress's 80), if one is written. */
export function hostPortFor(config: ClusterConfig, containerPort: number): number | undefined {
  for (const p of config.ports ?? []) {
    const spec = parsePortSpec(p.port);
    if ('error' in spec) continue;
    const i = spec.containerPorts.indexOf(containerPort);
    if (i >= 0 && spec.hostPorts[i] !== undefined) return spec.hostPorts[i];
  }
  return undefined;
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
function describeSchemaError(e: K3dSchemaError): {
  path: (string | number)[];
  message: string;
  hint?: string;
  atKey?: boolean;
} {
  const path = pointerPath(e.instancePath);
  const p = e.params as {
    additionalProperty?: string;
    missingProperty?: string;
    allowedValues?: unknown[];
    type?: string;
    limit?: number;
    format?: string;
  };
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const hint =
        key === 'manifests' && path.length === 0
          ? 'k3d v5.8.3 has no "manifests" field; to put files on the nodes use "files" (source, destination, nodeFilters)'
          : undefined;
      return {
        path: [...path, key],
        atKey: true,
        message: `unknown field "${key}" (k3d v5.8.3 would refuse this config)`,
        ...(hint ? { hint } : {}),
      };
    }
    case 'required':
      return {
        path,
        message: `missing required field "${p.missingProperty}" (k3d v5.8.3 requires apiVersion and kind)`,
      };
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

/** Line and column (1-based) in `text` of an offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, col: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/**
 * Where in the user's file a path of the (expanded) document is, as ":line:col", and which
 * environment variables gave the value found there.
 */
function positionIn(
  doc: Document,
  expanded: ExpandedText,
  original: string,
  path: (string | number)[],
  atKey: boolean,
): { where: string; variables: string } {
  const range = (atKey ? rangeOfKey : rangeOfPath)(doc, path);
  if (!range) return { where: '', variables: '' };
  const { line, col } = lineCol(original, expanded.originalOffset(range[0]));
  const used = atKey ? [] : expansionsWithin(expanded, range[0], range[1]);
  const variables = used.length
    ? ` (after expanding ${used.map((e) => `${e.reference} to ${JSON.stringify(e.value)}${e.set ? '' : ': it is not set'}`).join(', ')}, as k3d does)`
    : '';
  return { where: `:${line}:${col}`, variables };
}

export interface ParsedClusterConfig {
  config: ClusterConfig;
  defaults: ConfigDefault[];
  notes: string[];
}

/** Reads a k3d config's text as k3d v5.8.3 would (see the top of this file). `path` names it in messages. */
export function readClusterConfig(
  text: string,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): ParsedClusterConfig {
  const expanded = expandEnv(text, env);
  const { doc } = parseYamlDocument(expanded.text, path, (offset) => lineCol(text, expanded.originalOffset(offset)));
  let data: unknown = doc.toJS();
  let migration: VersionMigration | undefined;
  const fail = (issuePath: (string | number)[], message: string, hint = configHint, atKey = false): never => {
    const filePath = migration ? migration.pathInFile(issuePath) : issuePath;
    const { where, variables } = positionIn(doc, expanded, text, filePath, atKey);
    const field = filePath.length > 0 ? filePath.join('.') : '(top level)';
    throw new KeystoneError(`${path}${where}: ${field}: ${message}${variables}`, { hint, exitCode: 2 });
  };
  const migrated = migrateConfigVersion(data, path);
  if ('refusal' in migrated)
    return fail(migrated.refusal.path, migrated.refusal.message, migrated.refusal.hint, migrated.refusal.atKey);
  if (migrated.migration) {
    migration = migrated.migration;
    data = migrated.data;
  }
  if (!validateK3dSchema(data)) {
    const first = validateK3dSchema.errors?.[0];
    if (first) {
      const { path: issuePath, message, hint, atKey } = describeSchemaError(first);
      fail(issuePath, message, hint, atKey);
    }
  }
  const { data: withDefaults, defaults } = applyK3dDefaults(data as Record<string, unknown>);
  const result = clusterConfigSchema.safeParse(withDefaults);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return fail(issue.path as (string | number)[], issue.message);
  }
  return { config: result.data, defaults, notes: migration ? [migration.note] : [] };
}

function applyK3dDefaults(data: Record<string, unknown>): { data: Record<string, unknown>; defaults: ConfigDefault[] } {
  const defaults: ConfigDefault[] = [];
  const out = { ...data };
  const metadata = (out.metadata ?? {}) as Record<string, unknown>;
  if (metadata.name === undefined) {
    out.metadata = { ...metadata, name: k3dDefaults.name };
    defaults.push({ field: 'metadata.name', value: k3dDefaults.name });
  }
  for (const field of ['servers', 'agents'] as const) {
    if (out[field] === undefined) {
      out[field] = k3dDefaults[field];
      defaults.push({ field, value: k3dDefaults[field] });
    }
  }
  return { data: out, defaults };
}

export function parseClusterConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  return readClusterConfig(text, path, env).config;
}

/** `--config -`: k3d reads the config from standard input; keystone does not (see docs/k3d-config.md). */
export const stdinConfigRefusal = () =>
  new KeystoneError('--config -: keystone does not read the cluster config from standard input (k3d does)', {
    hint: 'keystone reads the config again in later commands (status, stop, delete find the cluster by its name): save it to a file and pass --config FILE',
    exitCode: 2,
  });

export async function loadClusterConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedClusterConfig> {
  if (path === '-') throw stdinConfigRefusal();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KeystoneError(`cannot read cluster config ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      hint: 'pass --config PATH, or run keystone from the project directory',
      exitCode: 2,
    });
  }
  return { path, ...readClusterConfig(text, path, env) };
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
  return (config.volumes ?? []).map((v) => v.volume.slice(0, v.volume.indexOf(':'))).filter((host) => isAbsolute(host));
}

/**
 * Writes the resolved config for k3d into a private temporary directory (0600). k3d reads a
 * one-line `files[].source` as a path joined to the config file's directory (k3d-io/k3d v5.8.3
 * pkg/util/files.go ReadFileSource: filepath.Join(filepath.Dir(configFile), source); a multi-line
 * source is the content itself), so each is rewritten to reach, from the temporary directory,
 * the file it named next to the user's config.
 */
export async function writeResolvedConfig(config: ClusterConfig, configPath: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keystone-'));
  const file = join(dir, 'k3d-cluster-config.yaml');
  const files = config.files?.map((f) =>
    f.source.includes('\n') ? f : { ...f, source: relative(dir, join(dirname(resolve(configPath)), f.source)) },
  );
  await writeFile(file, await configText(files ? { ...config, files } : config), { mode: 0o600 });
  return file;
}

/**
 * The config as YAML that k3d's expansion leaves as it is. k3d runs os.ExpandEnv over the file
 * keystone writes too, so a "$" in a value (one the user's variables expanded to, say a password)
 * would be expanded a second time; Go's os.Expand has no escape for "$", but YAML has: each string
 * holding a "$" is written double-quoted with the "$" as \x24, which ExpandEnv passes over and the
 * YAML parser reads back as "$".
 */
export async function configText(config: ClusterConfig): Promise<string> {
  const { Document, visit, isScalar } = await loadYaml();
  const doc = new Document(config);
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) node.type = 'QUOTE_DOUBLE';
    },
    Pair(_key, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === 'string' && pair.key.value.includes('$'))
        pair.key.type = 'QUOTE_DOUBLE';
    },
  });
  // No folding (lineWidth 0), so each "$" left in the text is inside a double-quoted scalar.
  return doc.toString({ lineWidth: 0 }).replaceAll('$', '\\x24');
}
