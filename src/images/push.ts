/**
 * `keystone push-images`: build what is missing, push keystone's images to the cluster's registry
 * (the k3d cluster's own, or one the user names for another cluster, with Docker's own
 * credentials: `docker login`), and remember in the cluster where they are (registry-record.ts).
 *
 * Per image: `docker tag IMAGE REGISTRY/PATH:TAG`, `docker push` it, and read the digest Docker
 * recorded for that repository (`docker image inspect` RepoDigests, which a push sets). The
 * cluster's record is written only once every push succeeded: a refused push (authentication,
 * TLS, an unreachable registry) leaves it as it was, and the tag made for the push is removed.
 */
import { KeystoneError, UsageError } from '../errors.js';
import { ToolFailedError, type Runner } from '../exec/runner.js';
import { buildImages, hasLocalImage, type ImageSpec } from './images.js';
import { dockerKnows } from './pin.js';
import { repositoryOf } from './image-names.js';
import type { ImageRecord, PushedImage } from './registry-record.js';

/** A registry and an optional path under it: "localhost:5000", "ghcr.io/lab", "registry.example.com:8443/group/sub". */
const registryPattern =
  /^(?:[a-z0-9]([a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

export function parseRegistry(text: string): string {
  const trimmed = text.replace(/\/+$/, '');
  if (/^[a-z]+:\/\//i.test(trimmed))
    throw new UsageError(
      `--registry ${JSON.stringify(text)} has a scheme`,
      `give the registry as Docker names it, without http:// or https://: e.g. --registry ${trimmed.replace(/^[a-z]+:\/\//i, '')}`,
    );
  if (
    !registryPattern.test(trimmed) ||
    (!trimmed.includes('.') && !trimmed.includes(':') && !trimmed.startsWith('localhost'))
  ) {
    throw new UsageError(
      `--registry ${JSON.stringify(text)} is not a registry`,
      'a registry host (with a dot or a port, or localhost) and an optional path: e.g. --registry ghcr.io/your-group or --registry registry.lab.example:5000',
    );
  }
  return trimmed;
}

/** "keystone/lammps:0.1.0" → "keystone/lammps:0.1.0"; "ghcr.io/x/y:1" → "x/y:1": the path and tag under a registry. */
export function pathUnderRegistry(image: string): string {
  const first = image.split('/')[0] ?? '';
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const path = hasRegistry ? image.slice(first.length + 1) : image;
  const last = path.split('/').pop() ?? '';
  return last.includes(':') ? path : `${path}:latest`;
}

/** Why a push was refused, with what to do: Docker's own messages (docker/cli, distribution's registry errors). */
export function explainPushFailure(reason: string, registry: string): { message: string; hint: string } {
  if (/denied|unauthorized|authentication required|no basic auth credentials/i.test(reason)) {
    return {
      message: `registry ${registry} refused the push (authentication): ${reason}`,
      hint: `log in with Docker's own credentials: \`docker login ${registry.split('/')[0]}\`, then run the command again`,
    };
  }
  if (/server gave HTTP response to HTTPS client/i.test(reason)) {
    return {
      message: `registry ${registry} speaks plain HTTP, and Docker only pushes over HTTPS to it: ${reason}`,
      hint: `serve the registry over TLS, or add "${registry.split('/')[0]}" to "insecure-registries" in Docker's daemon.json (localhost registries are allowed by default)`,
    };
  }
  if (/x509|certificate|tls:/i.test(reason)) {
    return {
      message: `the TLS certificate of registry ${registry} is not trusted: ${reason}`,
      hint: `put its CA certificate in /etc/docker/certs.d/${registry.split('/')[0]}/ca.crt (Docker reads it per push)`,
    };
  }
  if (
    /connection refused|no such host|i\/o timeout|dial tcp|network is unreachable|TLS handshake timeout|EOF/i.test(
      reason,
    )
  ) {
    return {
      message: `registry ${registry} cannot be reached from this machine: ${reason}`,
      hint: registry.startsWith('localhost')
        ? 'is the cluster running (`keystone status`)? The k3d registry is a container next to it'
        : `check the address and port, and that this machine reaches it (\`curl https://${registry.split('/')[0]}/v2/\`)`,
    };
  }
  return {
    message: `pushing to ${registry} failed: ${reason}`,
    hint: `try the same \`docker push\` by hand to see what the registry says`,
  };
}

export interface PushPlan {
  /** Where to push from this machine, and what the nodes pull from (the same registry). */
  pushTo: string;
  pullFrom: string;
  specs: ImageSpec[];
  build: boolean;
}

export interface PushOutcome {
  built: string[];
  pushed: Record<string, PushedImage>;
}

export async function pushImages(
  runner: Runner,
  plan: PushPlan,
  o: { timeoutMs: number; dryRun: boolean; onProgress?: (text: string) => void },
): Promise<PushOutcome> {
  const missing: ImageSpec[] = [];
  for (const spec of plan.specs) if (plan.build || !(await hasLocalImage(runner, spec.image))) missing.push(spec);
  const unbuildable = missing.find((s) => !s.build);
  if (unbuildable)
    throw new KeystoneError(`image ${unbuildable.image} is not in Docker and there is no build file for it`, {
      hint: `build or pull ${unbuildable.image} yourself, then run \`keystone push-images\``,
    });
  if (missing.length) await buildImages(runner, missing, o.timeoutMs, o.onProgress);

  const pushed: Record<string, PushedImage> = {};
  for (const [i, spec] of plan.specs.entries()) {
    const path = pathUnderRegistry(spec.image);
    const target = `${plan.pushTo}/${path}`;
    o.onProgress?.(`pushing ${target}${plan.specs.length > 1 ? ` (${i + 1}/${plan.specs.length})` : ''}`);
    await runner.run('docker', ['tag', spec.image, target], { mutates: true, timeoutMs: 60_000 });
    try {
      await runner.run('docker', ['push', target], { mutates: true, timeoutMs: o.timeoutMs });
    } catch (err) {
      // The tag made for this push goes again (an untag: the image stays under its own name).
      await runner
        .run('docker', ['image', 'rm', target], { mutates: true, reject: false, timeoutMs: 60_000 })
        .catch(() => undefined);
      if (!(err instanceof ToolFailedError)) throw err;
      const { message, hint } = explainPushFailure(err.reason, plan.pushTo);
      const done = Object.keys(pushed);
      throw new KeystoneError(message, {
        hint: `${hint}; the cluster's image record is unchanged${done.length ? ` (${done.join(', ')} reached the registry before)` : ''}`,
      });
    }
    if (o.dryRun) continue;
    const known = await dockerKnows(runner, target);
    const repo = repositoryOf(target);
    const digest = known?.repoDigests.map((d) => d.split('@')).find(([r]) => repositoryOf(`${r}:x`) === repo)?.[1];
    if (!digest)
      throw new KeystoneError(`pushed ${target}, but Docker recorded no digest for it`, {
        hint: `run \`docker image inspect --format "{{json .RepoDigests}}" ${target}\`; the cluster's image record is unchanged`,
      });
    pushed[spec.image] = { ref: `${plan.pullFrom}/${path}`, digest, pushedAt: new Date().toISOString() };
  }
  return { built: missing.map((s) => s.image), pushed };
}

/** The record after a push: the images pushed now replace their entries; a new registry starts a new record. */
export function nextRecord(
  previous: ImageRecord | undefined,
  plan: PushPlan,
  pushed: Record<string, PushedImage>,
): ImageRecord {
  const keep =
    previous && previous.pushTo === plan.pushTo && previous.pullFrom === plan.pullFrom ? previous.images : {};
  return { pushTo: plan.pushTo, pullFrom: plan.pullFrom, images: { ...keep, ...pushed } };
}
