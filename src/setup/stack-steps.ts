/** The stack half of `keystone setup`: images, manifests (server-side apply), and the wait until it is up. */
import type { SetupContext } from './context.js';
import { readImageRecord, withPushedImages, writeImageRecord } from '../images/registry-record.js';
import { nextRecord, pushImages } from '../images/push.js';
import { KeystoneError } from '../errors.js';
import type { Step } from '../steps/run-steps.js';
import { watchUntil } from '../kube/watch-until.js';
import { applyManifest, describeManifest } from '../stack/apply.js';
import type { Manifest } from '../stack/manifests.js';
import { ensureRedisSecret } from '../stack/redis-secret.js';
import { waitForStack } from '../stack/rollout.js';
import { loadImageSpecs, localImageNames } from '../images/images.js';
import { importImages } from '../images/import-images.js';
import { defaultSetupTimeoutMs } from './timeouts.js';
import { stackNamespace } from '../vocabulary.js';
import type { KubeObject } from '../kube/objects.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';

/**
 * keystone's commands (status, pods, logs, jobs, ...) read the stack in one namespace,
 * stackNamespace; a manifest that puts an object elsewhere would be applied where no command
 * looks, so it is refused before anything is applied.
 */
export function checkStackNamespace(manifests: readonly Manifest[]): void {
  for (const m of manifests) {
    const ns =
      m.object.kind === 'Namespace'
        ? m.object.metadata.name
        : m.info.namespaced
          ? m.object.metadata.namespace
          : stackNamespace;
    if (ns !== stackNamespace) {
      throw new KeystoneError(
        `${m.source}: ${m.object.kind} ${m.object.metadata.name} is in namespace "${ns}"; keystone's stack lives in "${stackNamespace}"`,
        {
          hint: `set metadata.namespace: ${stackNamespace} (keystone's commands look only there); nothing was applied`,
          exitCode: 2,
        },
      );
    }
  }
}

export interface SetupState {
  /** Set by the cluster step: whether there is a running cluster to talk to. */
  clusterRunning?: boolean;
  /**
   * Set by a dry run's namespace step: the namespace does not exist yet. The API server refuses
   * even a dry-run create of anything in a namespace that does not exist (404, its
   * NamespaceLifecycle admission plugin), so the rest is listed, not sent.
   */
  namespaceMissing?: boolean;
}

export function imagesStep(app: SetupContext, state: SetupState): Step {
  return {
    title: 'images',
    run: async (progress) => {
      if (app.options.dryRun && !state.clusterRunning)
        return 'would build missing images and import them into the cluster';
      // A cluster whose images went through its registry (`keystone push-images`, remembered in
      // the cluster) stays on it: push, which sends only the layers the registry lacks
      // (docs/performance.md: the rebuild loop). Otherwise import, as for a new cluster.
      const record = state.clusterRunning ? await readImageRecord(await app.client(), stackNamespace) : undefined;
      if (record) {
        const specs = await loadImageSpecs(app.paths.composeFile);
        const plan = { pushTo: record.pushTo, pullFrom: record.pullFrom, specs, build: false };
        const outcome = await pushImages(app.runner, plan, {
          timeoutMs: app.timeoutMs(30 * 60_000),
          dryRun: Boolean(app.options.dryRun),
          onProgress: (t) => progress.update(t),
        });
        if (app.options.dryRun)
          return `would push ${specs.map((s) => s.image).join(', ')} to ${record.pushTo} (the cluster's registry)`;
        await writeImageRecord(await app.client(), stackNamespace, nextRecord(record, plan, outcome.pushed));
        return `${outcome.built.length ? `built ${outcome.built.join(', ')}; ` : ''}pushed ${specs.map((s) => s.image).join(', ')} to ${record.pushTo} (the cluster's registry)`;
      }
      const outcome = await importImages(app, { build: false, only: [], onProgress: (t) => progress.update(t) });
      return outcome.summary;
    },
  };
}

export function stackSteps(app: SetupContext, manifests: Manifest[], state: SetupState): Step[] {
  checkStackNamespace(manifests);
  const namespaces = manifests.filter((m) => m.object.kind === 'Namespace');
  const rest = manifests.filter((m) => m.object.kind !== 'Namespace');
  const dryRun = Boolean(app.options.dryRun);
  const force = Boolean(app.options.forceConflicts);
  const planOnly = () => dryRun && (!state.clusterRunning || Boolean(state.namespaceMissing));
  const notCheckable = `namespace ${stackNamespace} does not exist yet, so the API server cannot check what would go in it`;
  const applyAll = async (list: Manifest[], pushed = false) => {
    const client = await app.client();
    const results = [];
    // Images `keystone push-images` put in the cluster's registry: the stack runs them by digest.
    const objects = pushed ? withPushedImages(list, await readImageRecord(client, stackNamespace)) : list;
    for (const m of objects) results.push(await applyManifest(client, m, { dryRun, forceConflicts: force }));
    return results;
  };

  return [
    {
      title: `namespace ${stackNamespace}`,
      run: async () => {
        if (planOnly()) return `would apply ${namespaces.map(describeManifest).join(', ')}`;
        // A dry run reads first: a namespace that is not there would be created, and nothing
        // can be sent into it (see SetupState.namespaceMissing).
        if (dryRun) state.namespaceMissing = !(await namespaceExists(await app.client()));
        const [applied] = await applyAll(namespaces);
        if (dryRun)
          return state.namespaceMissing
            ? `would create namespace ${stackNamespace} (valid: server dry run)`
            : `namespace ${stackNamespace} is valid (server dry run)`;
        const phase = (applied?.result.status as { phase?: string } | undefined)?.phase;
        if (phase === 'Active') return `namespace ${stackNamespace} is Active`;
        const client = await app.client();
        await watchUntil<KubeObject & { status?: { phase?: string } }>({
          client,
          path: '/api/v1/namespaces',
          query: { fieldSelector: `metadata.name=${stackNamespace}` },
          what: `namespace ${stackNamespace} to be Active`,
          timeoutMs: app.timeoutMs(defaultSetupTimeoutMs),
          signal: app.signal,
          evaluate: ([ns]) => {
            if (ns?.status?.phase === 'Terminating') {
              return {
                done: false,
                progress: 'Terminating',
                failure: new KeystoneError(`namespace ${stackNamespace} is being deleted`, {
                  hint: 'wait until it is gone (`kubectl get ns`), then run setup again',
                }),
              };
            }
            return { done: ns?.status?.phase === 'Active', progress: ns?.status?.phase ?? 'absent' };
          },
        });
        return `namespace ${stackNamespace} is Active`;
      },
    },
    {
      title: 'redis password',
      run: async () => {
        if (planOnly())
          return state.namespaceMissing
            ? 'would create the Secret redis-auth with a generated password'
            : 'would create the Secret redis-auth with a generated password if it does not exist';
        const outcome = await ensureRedisSecret(await app.client(), stackNamespace, { dryRun });
        if (dryRun)
          return outcome === 'created'
            ? 'would generate the Redis password (Secret redis-auth; server dry run)'
            : 'would keep the existing Redis password (Secret redis-auth)';
        return outcome === 'created'
          ? 'generated the Redis password (Secret redis-auth)'
          : 'kept the existing Redis password (Secret redis-auth)';
      },
    },
    {
      title: 'apply manifests',
      run: async (progress) => {
        if (planOnly()) {
          const verb = state.namespaceMissing ? 'create' : 'apply';
          for (const m of rest) app.ui.info(`[dry-run] would ${verb} ${describeManifest(m)} (${m.source})`);
          return `would ${verb} ${rest.length} objects${state.namespaceMissing ? ` (not checked: ${notCheckable})` : ''}`;
        }
        progress.update(`${rest.length} objects`);
        const results = await applyAll(rest, true);
        for (const r of results) if (r.replacedTemplate) app.ui.info(`  ${r.replacedTemplate}`);
        if (dryRun) return `${rest.length} objects are valid (server dry run, nothing changed)`;
        const changed = results
          .filter((r) => r.result.kind === 'Deployment' && rolloutPending(r.result))
          .map((r) => r.result.metadata?.name);
        for (const r of results.filter((x) => x.keptReplicas !== undefined)) {
          app.ui.info(
            `  kept ${r.manifest.object.metadata.name} at ${r.keptReplicas} replicas (set by \`keystone scale\`; --force-conflicts resets it to the manifest's)`,
          );
        }
        return `applied ${rest.length} objects${changed.length ? `; rolling out ${changed.join(', ')}` : ''}`;
      },
    },
    {
      title: 'stack ready',
      run: async (progress) => {
        if (dryRun) return 'would wait for the deployments to be ready';
        const localImages = await localImageNames(app.paths.composeFile);
        const deployments = rest.filter((m) => m.object.kind === 'Deployment').map((m) => m.object.metadata.name);
        const claims = rest.filter((m) => m.object.kind === 'PersistentVolumeClaim').map((m) => m.object.metadata.name);
        await waitForStack(await app.client(), {
          namespace: stackNamespace,
          deployments,
          claims,
          localImages,
          // `keystone import-images` serves only the k3d cluster; another cluster needs the images pushed.
          localImagesReach: (await app.target()).local ? 'import' : 'push',
          timeoutMs: app.timeoutMs(defaultSetupTimeoutMs),
          onProgress: (t) => progress.update(t),
          signal: app.signal,
        });
        return `${deployments.length} deployments ready, ${claims.length} volume${claims.length === 1 ? '' : 's'} bound`;
      },
    },
  ];
}

/** Whether the stack's namespace exists (a read: a dry run sends nothing that could change it). */
async function namespaceExists(client: KubeClient): Promise<boolean> {
  try {
    await client.request({ path: `/api/v1/namespaces/${stackNamespace}` });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return false;
    throw err;
  }
}

function rolloutPending(obj: KubeObject): boolean {
  const status = obj.status as { observedGeneration?: number } | undefined;
  return (obj.metadata?.generation ?? 0) !== (status?.observedGeneration ?? 0);
}
