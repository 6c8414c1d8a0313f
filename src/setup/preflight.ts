/**
 * The checks setup needs to pass before it creates anything, shared with `doctor`: host ports
 * (naming what holds a busy one), disk space for the images, and the kubeconfig k3d will write.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { PreflightContext, SetupContext } from './context.js';
import type { LoadedClusterConfig } from '../cluster/config.js';
import {
  diskSpaceCheck,
  hostPortsCheck,
  kubeconfigsValidCheck,
  kubeconfigWritableCheck,
  type CheckOutcome,
  type DiskNeed,
} from '../cluster/preflight.js';
import { observeCluster, type ClusterState } from '../cluster/state.js';
import { KeystoneError } from '../errors.js';
import { ToolMissingError } from '../exec/runner.js';
import type { Step } from '../steps/run-steps.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { dockerInfoTimeoutMs } from '../tools/docker.js';
import { loadImageSpecs, localImageSize, type ImageSpec } from '../images/images.js';
import { defaultKubeconfigFile } from '../kube/kubeconfig/files.js';

export interface NamedCheck extends CheckOutcome {
  name: string;
}

/** The images of compose.yaml with their size on Docker (undefined: Docker does not have it), asked once. */
async function imagesOnDocker(app: PreflightContext): Promise<{ spec: ImageSpec; size: number | undefined }[]> {
  const specs = await loadImageSpecs(app.paths.composeFile);
  const sizes = await Promise.all(specs.map((s) => localImageSize(app.runner, s.image)));
  return specs.map((spec, i) => ({ spec, size: sizes[i] }));
}

/**
 * An image to build whose compose.yaml entry says nothing of its size: as much as the largest of
 * keystone's own (fenicsx-toolbox, images/compose.yaml), so an unknown image is not underestimated.
 */
export const unknownImageEstimate = 3e9;

/** What the images will take: sizes Docker reports, compose.yaml's estimate for those still to build. */
export function imagesDiskNeed(
  images: { spec: Pick<ImageSpec, 'estimatedBytes'>; size: number | undefined }[],
  nodes: number,
): DiskNeed {
  return {
    knownBytes: images.reduce<number>((sum, i) => sum + (i.size ?? 0), 0),
    toBuild: images.filter((i) => i.size === undefined).map((i) => i.spec.estimatedBytes ?? unknownImageEstimate),
    nodes,
  };
}

/** Each image Docker lacks can be built: its build context and Dockerfile exist. */
export function imageBuildsCheck(
  app: Pick<PreflightContext, 'cwd' | 'paths'>,
  images: { spec: ImageSpec; size: number | undefined }[],
): CheckOutcome {
  const missing = images.filter((i) => i.size === undefined).map((i) => i.spec);
  for (const spec of missing) {
    const dockerfile = spec.build ? (spec.build.dockerfile ?? join(spec.build.context, 'Dockerfile')) : '';
    const problem = !spec.build
      ? 'Docker does not have it and compose.yaml has no build section for it'
      : !existsSync(spec.build.context)
        ? `its build context ${spec.build.context} does not exist`
        : !existsSync(dockerfile)
          ? `${dockerfile} does not exist`
          : undefined;
    if (problem) {
      return {
        status: 'fail',
        detail: `${spec.image} cannot be built: ${problem}`,
        hint: `fix ${relative(app.cwd, app.paths.composeFile) || app.paths.composeFile}, or build or pull ${spec.image} yourself`,
      };
    }
  }
  if (missing.length === 0) return { status: 'ok', detail: `Docker has all ${images.length} images` };
  return {
    status: 'ok',
    detail: `${missing.length} of ${images.length} images will be built with \`docker build\` (${missing.map((s) => s.image).join(', ')})`,
  };
}

/**
 * The pre-checks for the configured cluster in its current state: ports always; disk space and
 * the kubeconfig only when the cluster does not exist yet (creating it is what needs them).
 */
export async function preflightChecks(
  app: PreflightContext,
  loaded: LoadedClusterConfig,
  state: ClusterState | undefined,
): Promise<NamedCheck[]> {
  const { config } = loaded;
  const configLabel = relative(app.cwd, loaded.path) || loaded.path;
  const absent = state === undefined || state.phase === 'absent';
  const checks: Promise<NamedCheck>[] = [
    hostPortsCheck(app.runner, config, configLabel, state).then((c) => ({ name: 'host ports', ...c })),
  ];
  // Docker not answering leaves both checks undecided (the docker check says why), not failed.
  const images = imagesOnDocker(app).then(
    (list) => ({ list }),
    (err: unknown) => ({ unknown: `not checked: ${(err as Error).message}` }),
  );
  checks.push(
    images.then((r) => ({
      name: 'image builds',
      ...('list' in r ? imageBuildsCheck(app, r.list) : { status: 'warn' as const, detail: r.unknown }),
    })),
  );
  if (absent) {
    checks.push(
      images
        .then((r) =>
          'list' in r
            ? diskSpaceCheck(
                app.runner,
                app.machine,
                imagesDiskNeed(r.list, config.servers + config.agents),
                dockerInfoTimeoutMs(app.env),
              )
            : { status: 'warn' as const, detail: r.unknown },
        )
        .then((c) => ({ name: 'disk space', ...c })),
    );
    // setup writes the new cluster's context where kubectl would (defaultKubeconfigFile), whatever the config says.
    const files = app.kubeconfigs.files;
    checks.push(
      defaultKubeconfigFile(app.kubeconfigs.files)
        .then((file) => kubeconfigWritableCheck(file))
        .then(async (writable) => {
          if (writable.status === 'fail') return writable;
          const valid = await kubeconfigsValidCheck(files);
          return valid.status === 'fail' ? valid : writable;
        })
        .then((c) => ({ name: 'kubeconfig', ...c })),
    );
  }
  return Promise.all(checks);
}

/** setup's step: the same checks as doctor's, before the data directories and the cluster. */
export function preflightStep(app: SetupContext, loaded: LoadedClusterConfig): Step {
  return {
    title: 'pre-checks',
    run: async () => {
      const name = loaded.config.metadata.name;
      let state: ClusterState | undefined;
      try {
        state = observeCluster(name, await k3dFindCluster(app.runner, name));
      } catch (err) {
        // A dry run on a machine without k3d: the cluster cannot exist yet.
        if (!(err instanceof ToolMissingError)) throw err;
      }
      const checks = await preflightChecks(app, loaded, state);
      const failed = checks.filter((c) => c.status === 'fail');
      if (failed.length > 0) {
        const [first, ...rest] = failed;
        throw new KeystoneError(
          `${first!.detail}${rest.length ? `; also: ${rest.map((c) => c.detail).join('; ')}` : ''}`,
          {
            hint: `${[first!, ...rest]
              .map((c) => c.hint)
              .filter(Boolean)
              .join('; ')}; nothing was created (\`keystone doctor\` shows every check)`,
          },
        );
      }
      const warned = checks.filter((x) => x.status === 'warn');
      for (const c of warned) app.ui.warn(`${c.name}: ${c.detail}`);
      return `pre-checks passed: ${checks.map((c) => c.name).join(', ')}${warned.length ? ` (${warned.length} warning${warned.length === 1 ? '' : 's'})` : ''}`;
    },
  };
}
