/** `keystone import-images` (and setup's images step): build what is missing, import into k3d in one call. */
import type { Runner } from '../exec/runner.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeTarget } from '../kube/target.js';
import { UsageError } from '../errors.js';
import {
  buildImages,
  hasLocalImage,
  imagesOnEveryNode,
  importIntoCluster,
  loadImageSpecs,
  planImport,
} from './images.js';

export interface ImportOutcome {
  imported: string[];
  built: string[];
  skipped: { image: string; reason: string }[];
  summary: string;
}

/** What importing images uses: the target (only the k3d cluster takes them), Docker and k3d, the compose file. */
export interface ImportImagesContext {
  target(): Promise<KubeTarget>;
  client(): Promise<KubeClient>;
  runner: Runner;
  paths: { composeFile: string };
  timeoutMs(defaultMs: number): number;
  options: { dryRun?: boolean };
}

export async function importImages(
  app: ImportImagesContext,
  options: { build: boolean; only: string[]; force?: boolean; onProgress?: (text: string) => void },
): Promise<ImportOutcome> {
  const target = await app.target();
  if (!target.local) {
    throw new UsageError(
      `images are imported into the k3d cluster "${target.clusterName}"; context "${target.context}" is another cluster`,
      `push them to a registry that cluster pulls from instead: \`keystone push-images --context ${target.context} --registry HOST/PATH\``,
    );
  }
  const { composeFile } = app.paths;
  let specs = await loadImageSpecs(composeFile);
  if (options.only.length > 0) {
    const known = new Map(specs.flatMap((s) => [[s.image, s] as const, [s.service, s] as const]));
    const unknown = options.only.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new UsageError(
        `unknown image ${unknown.map((u) => `"${u}"`).join(', ')}`,
        `images: ${specs.map((s) => s.image).join(', ')}`,
      );
    }
    specs = [...new Set(options.only.map((name) => known.get(name)!))];
  }
  if (specs.length === 0) return { imported: [], built: [], skipped: [], summary: 'no images to import' };

  options.onProgress?.('checking Docker for the images');
  const local = new Map<string, boolean>();
  for (const spec of specs) local.set(spec.image, await hasLocalImage(app.runner, spec.image));
  const inCluster = options.force || options.build ? new Set<string>() : await imagesOnEveryNode(await app.client());
  const plan = planImport({ specs, local, inCluster, forceBuild: options.build });

  const timeoutMs = app.timeoutMs(30 * 60_000);
  if (plan.build.length > 0) {
    await buildImages(app.runner, plan.build, timeoutMs, options.onProgress);
  }
  if (plan.import.length > 0) {
    options.onProgress?.(`importing ${plan.import.map((s) => s.image).join(', ')}`);
    await importIntoCluster(
      app.runner,
      plan.import.map((s) => s.image),
      target.clusterName,
      timeoutMs,
    );
  }
  const imported = plan.import.map((s) => s.image);
  const skipped = plan.skipped.map((s) => ({ image: s.spec.image, reason: s.reason }));
  const parts = [];
  const built = plan.build.map((s) => s.image);
  if (built.length && app.options.dryRun) parts.push(`would build ${built.join(', ')}`);
  if (imported.length) parts.push(`${app.options.dryRun ? 'would import' : 'imported'} ${imported.join(', ')}`);
  if (skipped.length) parts.push(`skipped ${skipped.map((s) => `${s.image} (${s.reason})`).join(', ')}`);
  return { imported, built, skipped, summary: parts.join('; ') };
}
