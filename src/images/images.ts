/**
 * The locally built images: which ones exist (images/compose.yaml), whether Docker has them,
 * building the missing ones, and loading them into the k3d cluster's nodes.
 *
 * Builds run `docker build` per image with the build settings read from compose.yaml, not
 * `docker compose build`: Compose v2 is a separate plugin that Docker 20.10, Debian's docker.io
 * and many Linux installs lack (docker/cli cmd/docker/docker.go then answers "docker: 'compose'
 * is not a docker command."), while `docker build` is in every Docker CLI. compose.yaml stays the
 * one list of images, and `docker compose -f images/compose.yaml build` still works by hand.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KeystoneError } from '../errors.js';
import { ToolFailedError, type Runner } from '../exec/runner.js';
import { lastErrorLine } from '../exec/command-line.js';
import { explainDockerFailure } from '../tools/docker.js';
import type { KubeClient } from '../kube/client.js';
import type { NodeObject } from '../kube/nodes.js';
import { normalizeImage } from './image-names.js';
import { loadYaml } from '../yaml-module.js';

export interface ImageBuild {
  /** Absolute build context directory. */
  context: string;
  /** Absolute Dockerfile path, when compose.yaml names one. */
  dockerfile?: string;
  args: Record<string, string>;
  target?: string;
}

export interface ImageSpec {
  service: string;
  image: string;
  build?: ImageBuild;
  /** What the built image takes on Docker, in bytes (compose.yaml's x-keystone-image-size), if said. */
  estimatedBytes?: number;
}

/** compose.yaml's x-keystone-image-size: a size in Docker's units ("850MB", "3.2GB", decimal as `docker images` prints). */
const sizeUnits: Record<string, number> = { kB: 1e3, MB: 1e6, GB: 1e9 };

function estimateOf(service: string, raw: unknown, composeFile: string): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(kB|MB|GB)$/.exec(String(raw).trim());
  if (!m) {
    throw new KeystoneError(
      `${composeFile}: services.${service}.x-keystone-image-size ${JSON.stringify(raw)} is not a size`,
      {
        hint: 'write it as `docker images` prints sizes, e.g. 850MB or 3.2GB',
        exitCode: 2,
      },
    );
  }
  return Math.round(Number(m[1]) * sizeUnits[m[2]!]!);
}

/** The compose `build` keys keystone turns into `docker build` flags; any other is refused, not ignored. */
const supportedBuildKeys = new Set(['context', 'dockerfile', 'args', 'target']);

type ComposeBuild =
  | string
  | { context?: string; dockerfile?: string; args?: Record<string, unknown> | string[]; target?: string };

function buildOf(service: string, raw: ComposeBuild | undefined, composeFile: string): ImageBuild | undefined {
  if (raw === undefined || raw === null) return undefined;
  const base = dirname(composeFile);
  // Compose: a string is the context; a relative context is relative to the compose file.
  const spec = typeof raw === 'string' ? { context: raw } : raw;
  const unknown = Object.keys(spec).filter((k) => !supportedBuildKeys.has(k));
  if (unknown.length > 0) {
    throw new KeystoneError(
      `${composeFile}: services.${service}.build.${unknown[0]} is not supported by keystone's image builds`,
      {
        hint: `keystone builds with \`docker build\` and understands build.${[...supportedBuildKeys].join(', build.')}; build this image yourself, then run \`keystone import-images\``,
        exitCode: 2,
      },
    );
  }
  const context = resolve(base, spec.context ?? '.');
  const args: Record<string, string> = {};
  if (Array.isArray(spec.args)) {
    for (const entry of spec.args) {
      const [key, ...value] = String(entry).split('=');
      if (key && value.length) args[key] = value.join('=');
    }
  } else {
    for (const [key, value] of Object.entries(spec.args ?? {}))
      if (value !== null && value !== undefined) args[key] = String(value);
  }
  return {
    context,
    // Compose reads dockerfile relative to the context; `docker build -f` reads it relative to the working directory.
    ...(spec.dockerfile ? { dockerfile: resolve(context, spec.dockerfile) } : {}),
    args,
    ...(spec.target ? { target: spec.target } : {}),
  };
}

export async function loadImageSpecs(composeFile: string): Promise<ImageSpec[]> {
  if (!existsSync(composeFile)) return [];
  const { parse } = await loadYaml();
  const doc = parse(await readFile(composeFile, 'utf8')) as {
    services?: Record<string, { image?: string; build?: ComposeBuild; 'x-keystone-image-size'?: unknown }>;
  } | null;
  return Object.entries(doc?.services ?? {})
    .filter(([, s]) => typeof s.image === 'string')
    .map(([service, s]) => {
      const build = buildOf(service, s.build, composeFile);
      const estimatedBytes = estimateOf(service, s['x-keystone-image-size'], composeFile);
      return {
        service,
        image: s.image!,
        ...(build ? { build } : {}),
        ...(estimatedBytes !== undefined ? { estimatedBytes } : {}),
      };
    });
}

/** Names of the images keystone builds (so a pull failure of one means "import it"). */
export async function localImageNames(composeFile: string): Promise<string[]> {
  return (await loadImageSpecs(composeFile)).map((s) => s.image);
}

export async function hasLocalImage(runner: Runner, image: string): Promise<boolean> {
  return (await localImageSize(runner, image)) !== undefined;
}

/**
 * The image's size in bytes as Docker reports it, or undefined when Docker does not have it. A
 * daemon that does not answer is an error, not "no such image": `docker image inspect` exits 1
 * for both (docker/cli cli/command/image/inspect.go; the daemon's 404 reads "No such image: X",
 * Docker 20.10's "no such image: X: No such image: X"), and taking one for the other made doctor
 * say every image "will be built" with Docker stopped, and import-images try to build them.
 */
export async function localImageSize(runner: Runner, image: string): Promise<number | undefined> {
  const result = await runner.run('docker', ['image', 'inspect', '--format', '{{.Size}}', image], {
    reject: false,
    timeoutMs: 30_000,
  });
  if (result.exitCode !== 0) {
    if (/no such image/i.test(result.stderr)) return undefined;
    const args = ['image', 'inspect', '--format', '{{.Size}}', image];
    throw explainDockerFailure(
      new ToolFailedError(
        'docker',
        args,
        result.exitCode,
        lastErrorLine(result.stderr) || `exit code ${result.exitCode}`,
        result.stderr,
      ),
      30_000,
    );
  }
  const size = Number(result.stdout.trim());
  return Number.isFinite(size) ? size : 0;
}

/** `docker build` argv for one image. */
export function dockerBuildArgs(spec: ImageSpec): string[] {
  const build = spec.build;
  if (!build) throw new KeystoneError(`image ${spec.image} has no build section in compose.yaml`);
  return [
    'build',
    '-t',
    spec.image,
    ...(build.dockerfile ? ['-f', build.dockerfile] : []),
    ...Object.entries(build.args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...(build.target ? ['--target', build.target] : []),
    build.context,
  ];
}

export async function buildImages(
  runner: Runner,
  specs: readonly ImageSpec[],
  timeoutMs: number,
  onProgress?: (text: string) => void,
): Promise<void> {
  for (const [i, spec] of specs.entries()) {
    onProgress?.(`building ${spec.image}${specs.length > 1 ? ` (${i + 1}/${specs.length})` : ''}`);
    await runner.run('docker', dockerBuildArgs(spec), { mutates: true, timeoutMs });
  }
}

export async function importIntoCluster(
  runner: Runner,
  images: string[],
  cluster: string,
  timeoutMs: number,
): Promise<void> {
  await runner.run('k3d', ['image', 'import', ...images, '--cluster', cluster], { mutates: true, timeoutMs });
}

/** Images every node already has (from the nodes' status), by normalized name. */
export async function imagesOnEveryNode(client: KubeClient): Promise<Set<string>> {
  const nodes = (await client.list<NodeObject & { status?: { images?: { names?: string[] }[] } }>('/api/v1/nodes'))
    .items;
  if (nodes.length === 0) return new Set();
  const sets = nodes.map((n) => new Set((n.status?.images ?? []).flatMap((i) => i.names ?? []).map(normalizeImage)));
  return new Set([...sets[0]!].filter((name) => sets.every((s) => s.has(name))));
}

export interface ImportPlan {
  build: ImageSpec[];
  import: ImageSpec[];
  skipped: { spec: ImageSpec; reason: string }[];
}

export interface PlanInput {
  specs: ImageSpec[];
  local: Map<string, boolean>;
  inCluster: Set<string>;
  forceBuild: boolean;
}

/** What to build, import and skip: a pure decision, so it is tested on its own. */
export function planImport(input: PlanInput): ImportPlan {
  const plan: ImportPlan = { build: [], import: [], skipped: [] };
  for (const spec of input.specs) {
    const present = input.local.get(spec.image) ?? false;
    const needsBuild = input.forceBuild || !present;
    if (needsBuild && !spec.build) {
      throw new KeystoneError(`image ${spec.image} is not in Docker and there is no build file for it`, {
        hint: `build or pull ${spec.image} yourself, then run \`keystone import-images\``,
      });
    }
    if (needsBuild) {
      plan.build.push(spec);
      plan.import.push(spec);
    } else if (input.inCluster.has(normalizeImage(spec.image))) {
      plan.skipped.push({ spec, reason: 'already in the cluster' });
    } else {
      plan.import.push(spec);
    }
  }
  return plan;
}
