/**
 * Server-side apply: one PATCH per object (no GET before, no discovery), field manager
 * "keystone". Conflicts with another field manager are reported with the manager and field.
 */
import { KeystoneError } from '../errors.js';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/client.js';
import { objectPath } from './kinds.js';
import type { Manifest } from './manifests.js';

export const fieldManager = 'keystone';

export interface ApplyOptions {
  /** Take ownership of fields another manager set (kubectl's --force-conflicts). */
  forceConflicts?: boolean;
  /** The API server's dry run: validated and defaulted, not stored. */
  dryRun?: boolean;
}

export interface Applied {
  manifest: Manifest;
  result: KubeObject;
  /** Set when the replica count `keystone scale` chose was kept instead of the manifest's. */
  keptReplicas?: number;
}

/** The field manager `keystone scale` uses (see src/operate/rollouts.ts). */
const scaleManager = 'keystone-scale';

export function describeManifest(m: Manifest): string {
  const ns = m.object.metadata.namespace;
  return `${m.object.kind} ${ns ? `${ns}/` : ''}${m.object.metadata.name}`;
}

export async function applyManifest(client: KubeClient, manifest: Manifest, options: ApplyOptions = {}): Promise<Applied> {
  try {
    return { manifest, result: await sendApply(client, manifest.object, manifest, options) };
  } catch (err) {
    if (!options.forceConflicts && onlyScaledReplicas(err)) {
      // The user scaled this Deployment with `keystone scale`: keep their replica count by
      // applying everything else (keystone then no longer claims spec.replicas).
      const { replicas: _dropped, ...spec } = (manifest.object.spec ?? {}) as Record<string, unknown>;
      const result = await sendApply(client, { ...manifest.object, spec }, manifest, options).catch((e: unknown) => {
        throw explainApplyError(e, manifest);
      });
      return { manifest, result, keptReplicas: (result.spec as { replicas?: number } | undefined)?.replicas };
    }
    throw explainApplyError(err, manifest);
  }
}

function onlyScaledReplicas(err: unknown): boolean {
  if (!(err instanceof KubeApiError) || err.statusCode !== 409) return false;
  const causes = err.status?.details?.causes ?? [];
  return causes.length > 0 && causes.every((c) => c.field === '.spec.replicas' && (c.message ?? '').includes(`"${scaleManager}"`));
}

function sendApply(client: KubeClient, object: Manifest['object'], manifest: Manifest, options: ApplyOptions): Promise<KubeObject> {
  return client.request<KubeObject>({
    method: 'PATCH',
    path: objectPath(manifest.info, object.metadata.name, object.metadata.namespace),
    query: { fieldManager, force: options.forceConflicts ? true : undefined, dryRun: options.dryRun ? 'All' : undefined },
    // JSON is valid YAML, and the apply content type takes YAML.
    body: JSON.stringify(object),
    contentType: 'application/apply-patch+yaml',
    retry: true, // an apply patch is idempotent
  });
}

function explainApplyError(err: unknown, manifest: Manifest): unknown {
  if (!(err instanceof KubeApiError)) return err;
  const what = `${describeManifest(manifest)} (${manifest.source})`;
  if (err.statusCode === 409 && err.reason === 'Conflict') {
    const causes = err.status?.details?.causes ?? [];
    const conflicts = causes.map((c) => `${c.field ?? '?'} (${c.message ?? 'conflict'})`).join('; ');
    return new KeystoneError(`apply conflict on ${what}: ${conflicts || err.message}`, {
      hint: 'another tool (often `kubectl edit` or `kubectl apply`) owns those fields; rerun with --force-conflicts to take them over',
    });
  }
  if (err.statusCode === 422 || err.statusCode === 400) {
    return new KeystoneError(`the API server rejected ${what}: ${err.message}`, { hint: 'fix the manifest and run setup again', exitCode: 1 });
  }
  return new KeystoneError(`applying ${what} failed: ${err.message}`, { hint: err.hint, cause: err });
}
