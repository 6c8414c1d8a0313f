/**
 * A Deployment's revisions and undo, as `kubectl rollout history` / `kubectl rollout undo` give them
 * (kubernetes/kubectl pkg/polymorphichelpers/history.go DeploymentHistoryViewer and rollback.go
 * DeploymentRollbacker): the revisions are the owned ReplicaSets' `deployment.kubernetes.io/revision`
 * annotations; undo copies the chosen ReplicaSet's pod template, minus its `pod-template-hash`
 * label, and its annotations (change-cause among them) back into the Deployment with a JSON
 * patch, and the controller rolls it out as a new revision (the reused ReplicaSet's revision is bumped).
 */
import { KeystoneError, UsageError } from '../errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { listDeployments, noDeployment } from './stack-objects.js';
import { stackNamespace } from '../vocabulary.js';
import type { KubeObject, DeploymentObject } from '../kube/objects.js';

export const revisionAnnotation = 'deployment.kubernetes.io/revision';
const changeCauseAnnotation = 'kubernetes.io/change-cause';
const hashLabel = 'pod-template-hash';

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: { name: string; image: string }[] };
}

interface ReplicaSetObject extends KubeObject {
  spec?: { replicas?: number; template?: PodTemplate };
  status?: { readyReplicas?: number };
}

type FullDeployment = DeploymentObject & { spec?: { paused?: boolean; template?: PodTemplate } };

export interface Revision {
  revision: number;
  replicaSet: string;
  images: string[];
  changeCause: string | null;
  createdAt: string | null;
  current: boolean;
}

export function parseRevision(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(
      `revision "${text}" is not a positive whole number`,
      'see the revisions with `keystone rollback <deployment> --list`',
    );
  }
  return Number(text);
}

async function getDeployment(client: KubeClient, name: string, ns: string): Promise<FullDeployment> {
  try {
    return await client.request<FullDeployment>({ path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}` });
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404)
      throw noDeployment(name, await listDeployments(client, ns), client.target);
    throw err;
  }
}

/** The ReplicaSets the Deployment controls (by owner uid, as deploymentutil.GetAllReplicaSets). */
async function ownedReplicaSets(client: KubeClient, d: FullDeployment, ns: string): Promise<ReplicaSetObject[]> {
  const all = (await client.list<ReplicaSetObject>(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items;
  type Owner = { kind?: string; name?: string; uid?: string; controller?: boolean };
  return all.filter((rs) =>
    ((rs.metadata?.ownerReferences ?? []) as Owner[]).some(
      (o) =>
        o.controller && o.kind === 'Deployment' && (o.uid ? o.uid === d.metadata?.uid : o.name === d.metadata?.name),
    ),
  );
}

const revisionOf = (rs: ReplicaSetObject): number => Number(rs.metadata?.annotations?.[revisionAnnotation] ?? NaN);

function withoutHash(t: PodTemplate | undefined): PodTemplate {
  const copy = structuredClone(t ?? {});
  if (copy.metadata?.labels) delete copy.metadata.labels[hashLabel];
  return copy;
}

/** Deep equality with map keys in any order (templates read back from the server may reorder). */
function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(norm)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

export async function listRevisions(client: KubeClient, name: string, ns = stackNamespace): Promise<Revision[]> {
  const d = await getDeployment(client, name, ns);
  const current = Number(d.metadata?.annotations?.[revisionAnnotation] ?? NaN);
  return (await ownedReplicaSets(client, d, ns))
    .filter((rs) => Number.isInteger(revisionOf(rs)))
    .sort((a, b) => revisionOf(a) - revisionOf(b))
    .map((rs) => ({
      revision: revisionOf(rs),
      replicaSet: rs.metadata?.name ?? '',
      images: (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image),
      changeCause: rs.metadata?.annotations?.[changeCauseAnnotation] ?? null,
      createdAt: rs.metadata?.creationTimestamp ?? null,
      current: Number.isInteger(current)
        ? revisionOf(rs) === current
        : sameJson(withoutHash(rs.spec?.template), d.spec?.template),
    }));
}

/**
 * The annotations kubectl gives a Deployment it rolls back (kubernetes/kubectl v0.33.0
 * pkg/polymorphichelpers/rollback.go DeploymentRollbacker.Rollback): the Deployment keeps its own
 * values of annotationsToSkip, and takes every other annotation from the chosen ReplicaSet, so
 * kubernetes.io/change-cause is the one of the revision it goes back to.
 */
export const annotationsToSkip = [
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
];

export function rolledBackAnnotations(
  deployment: Record<string, string>,
  replicaSet: Record<string, string>,
): Record<string, string> {
  const kept = Object.entries(deployment).filter(([k]) => annotationsToSkip.includes(k));
  const taken = Object.entries(replicaSet).filter(([k]) => !annotationsToSkip.includes(k));
  return Object.fromEntries([...kept, ...taken]);
}

export type RollbackResult =
  | { rolledBack: true; toRevision: number; deployment: FullDeployment }
  | { rolledBack: false; toRevision: number; reason: string };

/** `kubectl rollout undo [--to-revision N]`: N = 0 means the revision before the latest. */
export async function rollbackDeployment(
  client: KubeClient,
  name: string,
  toRevision: number,
  ns = stackNamespace,
  o: { dryRun?: boolean } = {},
): Promise<RollbackResult> {
  // The patch's resourceVersion test fails (422) when the deployment changed since it was read:
  // its controller writing status while a rollout (an interrupted rollback's) still goes on.
  // Read it again and decide again, as kubectl retries on a conflict.
  for (let attempt = 1; ; attempt++) {
    try {
      return await rollbackOnce(client, name, toRevision, ns, o);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 422) || attempt >= 3) throw err;
    }
  }
}

async function rollbackOnce(
  client: KubeClient,
  name: string,
  toRevision: number,
  ns: string,
  o: { dryRun?: boolean },
): Promise<RollbackResult> {
  const d = await getDeployment(client, name, ns);
  if (d.spec?.paused) {
    throw new KeystoneError(`deployment ${name} is paused: a paused deployment cannot be rolled back`, {
      hint: `resume it first: \`kubectl -n ${ns} rollout resume deployment/${name}\``,
    });
  }
  const sets = (await ownedReplicaSets(client, d, ns))
    .filter((rs) => Number.isInteger(revisionOf(rs)))
    .sort((a, b) => revisionOf(a) - revisionOf(b));
  let chosen: ReplicaSetObject | undefined;
  if (toRevision === 0) {
    // rollback.go deploymentRevision: the second-highest revision.
    chosen = sets.length >= 2 ? sets[sets.length - 2] : undefined;
    if (!chosen)
      throw new KeystoneError(`deployment ${name} has no earlier revision to roll back to`, {
        hint: `\`keystone rollback ${name} --list\` shows its revisions`,
      });
  } else {
    chosen = sets.find((rs) => revisionOf(rs) === toRevision);
    if (!chosen) {
      const known = sets.map(revisionOf).join(', ') || 'none';
      throw new KeystoneError(`deployment ${name} has no revision ${toRevision} (revisions: ${known})`, {
        hint: `\`keystone rollback ${name} --list\` shows its revisions`,
      });
    }
  }
  const revision = revisionOf(chosen);
  const template = withoutHash(chosen.spec?.template);
  if (sameJson(template, d.spec?.template)) {
    return {
      rolledBack: false,
      toRevision: revision,
      reason: `the current template already matches revision ${revision}`,
    };
  }
  // --dry-run: every check above was made; the patch is not sent.
  if (o.dryRun)
    return {
      rolledBack: false,
      toRevision: revision,
      reason: `would roll ${name} back to revision ${revision}${currentRevision(sets, d) ? ` (from revision ${currentRevision(sets, d)})` : ''}`,
    };
  // A JSON patch that replaces the whole template and the annotations, as kubectl's
  // getDeploymentPatch does (a merge patch would keep keys the old template lacks), guarded by the
  // resourceVersion it was read at.
  const updated = await client.request<FullDeployment>({
    method: 'PATCH',
    path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
    query: { fieldManager: 'keystone-rollback' },
    body: [
      { op: 'test', path: '/metadata/resourceVersion', value: d.metadata?.resourceVersion },
      { op: 'replace', path: '/spec/template', value: template },
      {
        op: 'replace',
        path: '/metadata/annotations',
        value: rolledBackAnnotations(d.metadata?.annotations ?? {}, chosen.metadata?.annotations ?? {}),
      },
    ],
    contentType: 'application/json-patch+json',
  });
  return { rolledBack: true, toRevision: revision, deployment: updated };
}

/** The revision whose template the deployment runs now, if one matches. */
function currentRevision(sets: ReplicaSetObject[], d: FullDeployment): number | undefined {
  const current = sets.find((rs) => sameJson(withoutHash(rs.spec?.template), d.spec?.template));
  return current ? revisionOf(current) : undefined;
}
