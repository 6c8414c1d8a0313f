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
}

export function describeManifest(m: Manifest): string {
  const ns = m.object.metadata.namespace;
  return `${m.object.kind} ${ns ? `${ns}/` : ''}${m.object.metadata.name}`;
}

export async function applyManifest(client: KubeClient, manifest: Manifest, options: ApplyOptions = {}): Promise<Applied> {
  const { object, info } = manifest;
  try {
    const result = await client.request<KubeObject>({
      method: 'PATCH',
      path: objectPath(info, object.metadata.name, object.metadata.namespace),
      query: { fieldManager, force: options.forceConflicts ? true : undefined, dryRun: options.dryRun ? 'All' : undefined },
      // JSON is valid YAML, and the apply content type takes YAML.
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml',
      retry: true, // an apply patch is idempotent
    });
    return { manifest, result };
  } catch (err) {
    throw explainApplyError(err, manifest);
  }
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
