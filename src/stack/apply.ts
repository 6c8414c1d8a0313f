/**
 * Server-side apply: one PATCH per object (no GET before, no discovery), field manager
 * "keystone". Conflicts with another field manager are reported with the manager and field.
 * A suspended simulation template Job whose pod template changed is replaced (see replaceTemplate).
 */
import { KeystoneError } from '../errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { objectPath } from './kinds.js';
import { fieldManagers, labels } from '../vocabulary.js';
import type { Manifest } from './manifests.js';
import type { KubeObject } from '../kube/objects.js';

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
  /** Set when a suspended template Job was deleted and created again (or would be, in a dry run). */
  replacedTemplate?: string;
}

export function describeManifest(m: Manifest): string {
  const ns = m.object.metadata.namespace;
  return `${m.object.kind} ${ns ? `${ns}/` : ''}${m.object.metadata.name}`;
}

export async function applyManifest(
  client: KubeClient,
  manifest: Manifest,
  options: ApplyOptions = {},
): Promise<Applied> {
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
    if (rejectedImmutableFields(err) && isSuspendedTemplate(manifest.object)) {
      return replaceTemplate(client, manifest, options, err as KubeApiError);
    }
    throw explainApplyError(err, manifest);
  }
}

/**
 * The API server refuses to change a Job's pod template (image, command, resources...) once the
 * Job exists, even while it is suspended (422 "field is immutable"; kubernetes
 * pkg/apis/batch/validation/validation.go validatePodTemplateUpdate: only labels, annotations and
 * the scheduling directives may change before it first starts).
 */
function rejectedImmutableFields(err: unknown): boolean {
  if (!(err instanceof KubeApiError) || err.statusCode !== 422 || err.reason !== 'Invalid') return false;
  const causes = err.status?.details?.causes ?? [];
  return (
    causes.length > 0 &&
    causes.every((c) => (c.field ?? '').startsWith('spec.') && (c.message ?? '').includes('field is immutable'))
  );
}

type JobLike = KubeObject & {
  spec?: { suspend?: boolean };
  status?: { startTime?: string; active?: number; succeeded?: number; failed?: number };
};

/** A simulation template: a Job labelled keystone.io/simulation-template and suspended. */
function isSuspendedTemplate(object: JobLike): boolean {
  return object.kind === 'Job' && object.spec?.suspend === true && Boolean(object.metadata?.labels?.[labels.template]);
}

/**
 * Replaces a template Job whose immutable fields changed: delete, then create from the manifest.
 * A template never runs (runs are copies), so nothing is lost. Only when the Job in the cluster is
 * such a template too, suspended and never started; anything else keeps the API server's answer.
 */
async function replaceTemplate(
  client: KubeClient,
  manifest: Manifest,
  options: ApplyOptions,
  rejection: KubeApiError,
): Promise<Applied> {
  const path = objectPath(manifest.info, manifest.object.metadata.name, manifest.object.metadata.namespace);
  const live = await client.request<JobLike>({ path, retry: true });
  const started = Boolean(
    live.status?.startTime || live.status?.active || live.status?.succeeded || live.status?.failed,
  );
  if (!isSuspendedTemplate(live) || started) {
    throw new KeystoneError(
      `the API server rejected ${describeManifest(manifest)} (${manifest.source}): ${rejection.message}`,
      {
        hint: `the Job in the cluster is not a suspended, never-started template, so keystone does not replace it; delete it yourself (kubectl --context … -n ${live.metadata?.namespace} delete job ${live.metadata?.name}) and run setup again`,
        exitCode: 1,
      },
    );
  }
  const fields = (rejection.status?.details?.causes ?? []).map((c) => c.field).join(', ');
  const why = `${fields} cannot change in place`;
  if (options.dryRun)
    return { manifest, result: live, replacedTemplate: `would replace ${describeManifest(manifest)}: ${why}` };
  await client.request({
    method: 'DELETE',
    path,
    // Exactly the object inspected above, and no pods to wait for (it never ran).
    body: {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Background',
      preconditions: { uid: live.metadata?.uid, resourceVersion: live.metadata?.resourceVersion },
    },
    retry: false,
  });
  await waitUntilGone(client, path);
  const result = await sendApply(client, manifest.object, manifest, options).catch((e: unknown) => {
    throw explainApplyError(e, manifest);
  });
  return {
    manifest,
    result,
    replacedTemplate: `replaced ${describeManifest(manifest)} (deleted and created again: ${why}; templates never run, so nothing was lost)`,
  };
}

/** A Job with no pods and no finalizers goes at once; a few tries cover a slow API server. */
async function waitUntilGone(client: KubeClient, path: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await client.request({ path, retry: true });
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new KeystoneError(`${path} is still there 10 s after it was deleted`, {
    hint: 'look at its finalizers (kubectl get job -o yaml), then run setup again',
  });
}

function onlyScaledReplicas(err: unknown): boolean {
  if (!(err instanceof KubeApiError) || err.statusCode !== 409) return false;
  const causes = err.status?.details?.causes ?? [];
  return (
    causes.length > 0 &&
    causes.every((c) => c.field === '.spec.replicas' && (c.message ?? '').includes(`"${fieldManagers.scale}"`))
  );
}

function sendApply(
  client: KubeClient,
  object: Manifest['object'],
  manifest: Manifest,
  options: ApplyOptions,
): Promise<KubeObject> {
  return client.request<KubeObject>({
    method: 'PATCH',
    path: objectPath(manifest.info, object.metadata.name, object.metadata.namespace),
    query: {
      fieldManager: fieldManagers.apply,
      force: options.forceConflicts ? true : undefined,
      dryRun: options.dryRun ? 'All' : undefined,
    },
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
    return new KeystoneError(`the API server rejected ${what}: ${err.message}`, {
      hint: 'fix the manifest and run setup again',
      exitCode: 1,
    });
  }
  return new KeystoneError(`applying ${what} failed: ${err.message}`, { hint: err.hint, cause: err });
}
