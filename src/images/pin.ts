/**
 * Pinning a run's image at submission: the registry digest the tag names now, so the run (and
 * every rerun of it) runs exactly that image however the tag moves later.
 *
 * Where a digest comes from, first found wins:
 *   1. the reference itself (name@sha256:…);
 *   2. the cluster's image record (images pushed by `keystone push-images`, images/registry-record.ts);
 *   3. the nodes: the kubelet reports each image's names as the runtime's RepoDigests then RepoTags
 *      (kubernetes pkg/kubelet/nodestatus/setters.go Images), and containerd's CRI lists an image's
 *      "name@sha256:…" references as RepoDigests (containerd internal/cri/util ParseImageReferences):
 *      an image a node pulled from a registry has one;
 *   4. Docker on this machine: `docker image inspect` RepoDigests, which Docker sets when it pushed
 *      or pulled the image to or from that repository (but see below: loaded images come first).
 * An image no registry holds has no digest: `k3d image import` loads a `docker save` archive with
 * `ctr image import --all-platforms` (k3d-io/k3d v5.8.3 pkg/client/tools.go), which creates the tag
 * name only, so the node lists the tag and no RepoDigest, and a pod reports the image ID
 * (containerd's ContainerStatus: imageRef is RepoDigests[0], else the image ID). Such a run runs
 * the tag and is pinned by image ID instead: the record keeps Docker's ID of the tag at submission
 * and the ID the pod ran, and `jobs rerun` refuses if the tag now names another image. A loaded
 * image runs by its tag even when Docker knows a registry digest for it (the nodes need no
 * registry for it); that digest is recorded too, and a rerun falls back on it.
 * Nothing found, and no node has it: refused before anything is staged.
 */
import { KeystoneError } from '../errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import type { Runner } from '../exec/runner.js';
import type { NodeObject } from '../kube/nodes.js';
import { normalizeImage, repositoryOf } from './image-names.js';

export { repositoryOf };

export interface PinnedImage {
  requested: string;
  /** What the pod is given: repo@sha256:… when pinned by digest, else the tag. */
  ref: string;
  digest: string | null;
  id: string | null;
  pinnedBy: 'digest' | 'image-id';
  source: string;
}

const digestPattern = /^sha256:[0-9a-f]{64}$/;

export const digestOf = (image: string): string | undefined => {
  const at = image.indexOf('@');
  return at >= 0 ? image.slice(at + 1) : undefined;
};

type NodeWithImages = NodeObject & { status?: { images?: { names?: string[] }[] } };

/** What the nodes know of an image: a registry digest of its repository, and whether any node has the tag. */
export async function nodesKnow(
  client: KubeClient,
  image: string,
): Promise<{ digest?: string; onNodes: boolean; readable: boolean }> {
  let nodes: NodeWithImages[];
  try {
    nodes = (await client.list<NodeWithImages>('/api/v1/nodes')).items;
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 403) return { onNodes: false, readable: false };
    throw err;
  }
  const wanted = normalizeImage(image);
  const repo = repositoryOf(image);
  let onNodes = false;
  for (const node of nodes) {
    for (const entry of node.status?.images ?? []) {
      const names = (entry.names ?? []).map(normalizeImage);
      if (!names.includes(wanted)) continue;
      onNodes = true;
      const canonical = names.find((n) => n.startsWith(`${repo}@`) && digestPattern.test(n.slice(repo.length + 1)));
      if (canonical) return { digest: canonical.slice(repo.length + 1), onNodes, readable: true };
    }
  }
  return { onNodes, readable: true };
}

/** Docker's ID of the image and its registry digests (RepoDigests), or undefined when Docker does not have it (or is not there). */
export async function dockerKnows(
  runner: Runner,
  image: string,
): Promise<{ id: string; repoDigests: string[] } | undefined> {
  try {
    const result = await runner.run(
      'docker',
      ['image', 'inspect', '--format', '{{.Id}} {{json .RepoDigests}}', image],
      { reject: false, timeoutMs: 30_000 },
    );
    if (result.exitCode !== 0) return undefined;
    const text = result.stdout.trim();
    const space = text.indexOf(' ');
    const id = text.slice(0, space);
    const repoDigests = JSON.parse(text.slice(space + 1) || '[]') as string[] | null;
    return { id: digestPattern.test(id) ? id : '', repoDigests: repoDigests ?? [] };
  } catch {
    return undefined; // no docker here: the other sources decide
  }
}

export interface PinSources {
  client: KubeClient;
  runner: Runner;
  context: string;
  /** The cluster's record of pushed images (images/registry-record.ts): image → pushed reference and digest. */
  remembered?: (image: string) => { ref: string; digest: string } | undefined;
}

export async function pinImage(image: string, s: PinSources): Promise<PinnedImage> {
  const given = digestOf(image);
  if (given !== undefined) {
    if (!digestPattern.test(given))
      throw new KeystoneError(`image ${image} has a digest keystone cannot use ("${given}")`, {
        hint: 'a digest is sha256: and 64 hex digits, as `docker image inspect --format "{{json .RepoDigests}}"` prints it',
        exitCode: 2,
      });
    return { requested: image, ref: image, digest: given, id: null, pinnedBy: 'digest', source: 'the reference' };
  }
  const repo = repositoryOf(image);
  const remembered = s.remembered?.(image);
  if (remembered)
    return {
      requested: image,
      ref: `${repositoryOf(remembered.ref)}@${remembered.digest}`,
      digest: remembered.digest,
      id: null,
      pinnedBy: 'digest',
      source: "the cluster's image record (keystone push-images)",
    };
  const nodes = await nodesKnow(s.client, image);
  const docker = await dockerKnows(s.runner, image);
  const id = docker?.id || null;
  if (nodes.digest)
    return {
      requested: image,
      ref: `${repo}@${nodes.digest}`,
      digest: nodes.digest,
      id,
      pinnedBy: 'digest',
      source: 'the nodes (pulled from its registry)',
    };
  const fromDocker = docker?.repoDigests
    .map(normalizeImage)
    .find((d) => repositoryOf(d) === repo && digestPattern.test(digestOf(d) ?? ''));
  // Loaded into the nodes without a digest: the tag runs (the nodes need no registry), pinned by
  // image ID; a registry digest Docker knows is kept too, so a rerun can still fetch this image.
  if (nodes.onNodes)
    return {
      requested: image,
      ref: image,
      digest: fromDocker ? digestOf(fromDocker)! : null,
      id,
      pinnedBy: 'image-id',
      source: 'loaded into the nodes (k3d image import): no registry digest on the nodes',
    };
  if (fromDocker)
    return {
      requested: image,
      ref: fromDocker,
      digest: digestOf(fromDocker)!,
      id,
      pinnedBy: 'digest',
      source: 'Docker on this machine (RepoDigests)',
    };
  // Nodes keystone may not read: an image Docker has (and may have loaded into them) is pinned by its ID, as a loaded one is.
  if (!nodes.readable && id)
    return {
      requested: image,
      ref: image,
      digest: null,
      id,
      pinnedBy: 'image-id',
      source: 'Docker on this machine (image ID; the nodes could not be read)',
    };
  throw new KeystoneError(
    `cannot pin image ${image} to a digest: no node of context ${s.context} has it${nodes.readable ? '' : ' (no permission to read the nodes)'}, and Docker on this machine knows no registry digest for it`,
    {
      hint: `push it to a registry the cluster reaches (\`keystone push-images\`), or give the digest: --image ${repo}@sha256:…; nothing was submitted`,
    },
  );
}
