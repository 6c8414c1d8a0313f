/** `keystone push-images [IMAGE...] [--registry R]`: build what is missing, push to the cluster's registry, remember it in the cluster. */
import type { AppContext } from '../app-context.js';
import { KeystoneError, UsageError } from '../errors.js';
import { KubeApiError } from '../kube/client.js';
import { stackNamespace } from '../vocabulary.js';
import { loadImageSpecs } from '../images/images.js';
import { nextRecord, parseRegistry, pushImages } from '../images/push.js';
import { readImageRecord, writeImageRecord } from '../images/registry-record.js';
import { registryAddresses } from '../cluster/registry.js';
import { runSteps } from '../steps/run-steps.js';
import { applyStackCommand, installStackCommand } from '../kube/target.js';

export async function pushImagesCommand(
  app: AppContext,
  only: string[],
  o: { registry?: string; build: boolean },
): Promise<void> {
  const named = o.registry !== undefined ? parseRegistry(o.registry) : undefined;
  const target = await app.target();
  let specs = await loadImageSpecs(app.paths.composeFile);
  if (only.length) {
    const known = new Map(specs.flatMap((s) => [[s.image, s] as const, [s.service, s] as const]));
    const unknown = only.filter((name) => !known.has(name));
    if (unknown.length)
      throw new UsageError(
        `unknown image ${unknown.map((u) => `"${u}"`).join(', ')}`,
        `images: ${specs.map((s) => s.image).join(', ')}`,
      );
    specs = [...new Set(only.map((name) => known.get(name)!))];
  }
  if (specs.length === 0) throw new UsageError('no images to push', `images/compose.yaml lists none`);
  const client = await app.client();
  const previous = await readImageRecord(client, stackNamespace);
  let pushTo: string;
  let pullFrom: string;
  if (named) {
    pushTo = pullFrom = named;
  } else if (previous) {
    ({ pushTo, pullFrom } = previous);
  } else if (target.local) {
    // The k3d cluster's registry: pushed to from this machine at localhost:<hostPort>, pulled by
    // the nodes as <name>:5000, which k3d's registries.yaml in every node resolves (cluster/registry.ts).
    const r = registryAddresses((await app.clusterConfig()).config);
    if (!r)
      throw new KeystoneError('the k3d cluster config creates no registry (registries.create)', {
        hint: 'add registries.create to k8s/configs/k3d-cluster-config.yaml, or name one: --registry HOST',
      });
    if (!r.fromHost)
      throw new KeystoneError(`registry ${r.name} has no fixed host port, so keystone does not know where to push`, {
        hint: 'set registries.create.hostPort in the k3d config',
      });
    pushTo = r.fromHost;
    pullFrom = r.inCluster;
  } else {
    throw new UsageError(
      `context ${target.context} has no registry for keystone's images yet`,
      'name the registry its nodes pull from, e.g. --registry ghcr.io/your-group (Docker pushes with its own credentials: `docker login ghcr.io` first)',
    );
  }
  const dryRun = Boolean(app.options.dryRun);
  await runSteps(
    app.ui,
    [
      {
        title: 'push images',
        run: async (progress) => {
          const outcome = await pushImages(
            app.runner,
            { pushTo, pullFrom, specs, build: o.build },
            { timeoutMs: app.timeoutMs(30 * 60_000), dryRun, onProgress: (t) => progress.update(t) },
          );
          if (dryRun)
            return `would push ${specs.map((s) => s.image).join(', ')} to ${pushTo} and remember them in context ${target.context}`;
          try {
            await writeImageRecord(
              client,
              stackNamespace,
              nextRecord(previous, { pushTo, pullFrom, specs, build: o.build }, outcome.pushed),
            );
          } catch (err) {
            if (err instanceof KubeApiError && err.statusCode === 404)
              throw new KeystoneError(
                `pushed, but namespace ${stackNamespace} does not exist in context ${target.context} to remember them in`,
                {
                  hint: `\`${installStackCommand(target)}\` creates it; then run push-images again (nothing more is sent)`,
                },
              );
            throw err;
          }
          const built = outcome.built.length ? `built ${outcome.built.join(', ')}; ` : '';
          return `${built}pushed ${Object.entries(outcome.pushed)
            .map(([image, p]) => `${image} as ${p.ref}@${p.digest.slice(0, 19)}…`)
            .join(', ')}; runs and the stack in context ${target.context} use them`;
        },
      },
    ],
    app.signal,
  );
  if (!dryRun) app.ui.info(`Apply them to the stack: \`${applyStackCommand(target)}\` (runs use them from now on).`);
}
