/**
 * The locally built images: which ones exist (images/compose.yaml), whether Docker has them,
 * building the missing ones, and loading them into the k3d cluster's nodes.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { KeystoneError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { KubeClient } from '../kube/client.js';
import type { NodeObject } from '../kube/nodes.js';
import { normalizeImage } from './image-names.js';
import { loadYaml } from '../yaml-module.js';

export interface ImageSpec {
  service: string;
  image: string;
}

export async function loadImageSpecs(composeFile: string): Promise<ImageSpec[]> {
  if (!existsSync(composeFile)) return [];
  const { parse } = await loadYaml();
  const doc = parse(await readFile(composeFile, 'utf8')) as { services?: Record<string, { image?: string }> } | null;
  return Object.entries(doc?.services ?? {})
    .filter(([, s]) => typeof s.image === 'string')
    .map(([service, s]) => ({ service, image: s.image! }));
}

/** Names of the images keystone builds (so a pull failure of one means "import it"). */
export async function localImageNames(composeFile: string): Promise<string[]> {
  return (await loadImageSpecs(composeFile)).map((s) => s.image);
}

export async function hasLocalImage(runner: Runner, image: string): Promise<boolean> {
  const result = await runner.run('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { reject: false, timeoutMs: 30_000 });
  return result.exitCode === 0;
}

export async function buildImages(runner: Runner, composeFile: string, services: string[], timeoutMs: number): Promise<void> {
  await runner.run('docker', ['compose', '-f', composeFile, 'build', ...services], { mutates: true, timeoutMs });
}

export async function importIntoCluster(runner: Runner, images: string[], cluster: string, timeoutMs: number): Promise<void> {
  await runner.run('k3d', ['image', 'import', ...images, '--cluster', cluster], { mutates: true, timeoutMs });
}

/** Images every node already has (from the nodes' status), by normalized name. */
export async function imagesOnEveryNode(client: KubeClient): Promise<Set<string>> {
  const nodes = (await client.list<NodeObject & { status?: { images?: { names?: string[] }[] } }>('/api/v1/nodes')).items;
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
  canBuild: boolean;
}

/** What to build, import and skip: a pure decision, so it is tested on its own. */
export function planImport(input: PlanInput): ImportPlan {
  const plan: ImportPlan = { build: [], import: [], skipped: [] };
  for (const spec of input.specs) {
    const present = input.local.get(spec.image) ?? false;
    const needsBuild = input.forceBuild || !present;
    if (needsBuild && !input.canBuild) {
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
