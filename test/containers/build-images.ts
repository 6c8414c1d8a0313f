/**
 * The project's images, built with keystone's own code: loadImageSpecs (images/compose.yaml),
 * planImport with forceBuild (`import-images --build`) and buildImages with keystone's process
 * runner, so the `docker build` argv is the one setup runs. One addition where this tier's own
 * daemon needs it: that dockerd has no bridge network (--bridge=none keeps the host's network and
 * firewall untouched), so a RUN step has no network unless the build uses the host's; the runner
 * then adds `--network host` after `build` and the test shows both argvs. A Docker with its
 * default bridge (DOCKER_HOST) gets keystone's argv unchanged.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createProcessRunner, type Runner } from '../../src/exec/runner.js';
import { buildImages, dockerBuildArgs, loadImageSpecs, planImport, type ImageSpec } from '../../src/images/images.js';
import { repoRoot } from '../engines/engine-run.js';
import { debianBase, dockerEnv } from './daemon.js';
import { normalizeImage } from '../../src/images/image-names.js';

export interface ImageOutcome {
  service: string;
  image: string;
  /** The Dockerfile's FROM image. */
  base: string;
  status: 'built' | 'failed' | 'skipped';
  /** Why it was skipped, or the build's error. */
  reason?: string;
  /** keystone's argv (dockerBuildArgs). */
  argv?: string[];
  /** The argv the daemon got (keystone's, plus --network host on a daemon without a bridge). */
  ran?: string[];
  seconds?: number;
  /** The end of the build's output. */
  output?: string;
}

/** Where this machine can get each base from, when the daemon does not have it already. */
function whyNoBase(base: string): string {
  if (normalizeImage(base) === normalizeImage(debianBase))
    return `its base ${base} is not in the daemon and debootstrap could not make it`;
  return `its base ${base} cannot be pulled here (no registry but npm's and Debian's is reachable) nor made from Debian packages; \`docker pull ${base}\` into the daemon to include it`;
}

async function fromImage(spec: ImageSpec): Promise<string> {
  const dockerfile = spec.build?.dockerfile ?? join(spec.build?.context ?? '', 'Dockerfile');
  const text = existsSync(dockerfile) ? await readFile(dockerfile, 'utf8') : '';
  const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)/im.exec(text);
  return from?.[1] ?? '(no FROM)';
}

/** keystone's runner against `host`, recording every docker argv; `--network host` added to builds when the daemon has no bridge. */
export async function tierRunner(host: string): Promise<{ runner: Runner; calls: string[][]; hostNetwork: boolean }> {
  const env = dockerEnv(host);
  const inner = createProcessRunner({ verbose: false, dryRun: false, log: () => {}, env });
  const hostNetwork = (await execa('docker', ['network', 'inspect', 'bridge'], { env, reject: false })).exitCode !== 0;
  const calls: string[][] = [];
  const runner: Runner = {
    setToolPath: (tool, path) => inner.setToolPath(tool, path),
    run(tool, args, options) {
      const ran =
        hostNetwork && tool === 'docker' && args[0] === 'build'
          ? ['build', '--network', 'host', ...args.slice(1)]
          : [...args];
      calls.push([tool, ...ran]);
      return inner.run(tool, ran, options);
    },
  };
  return { runner, calls, hostNetwork };
}

export async function buildProjectImages(host: string): Promise<ImageOutcome[]> {
  const env = dockerEnv(host);
  const specs = await loadImageSpecs(join(repoRoot, 'images', 'compose.yaml'));
  const outcomes: ImageOutcome[] = [];
  const buildable: ImageSpec[] = [];
  for (const spec of specs) {
    const base = await fromImage(spec);
    const present = (await execa('docker', ['image', 'inspect', base], { env, reject: false })).exitCode === 0;
    if (present) buildable.push(spec);
    else outcomes.push({ service: spec.service, image: spec.image, base, status: 'skipped', reason: whyNoBase(base) });
  }
  // `import-images --build`: every image is built, present or not (docker's layer cache makes a repeat quick).
  const plan = planImport({ specs: buildable, local: new Map(), inCluster: new Set(), forceBuild: true });
  const { runner, calls } = await tierRunner(host);
  for (const spec of plan.build) {
    const started = Date.now();
    const base = await fromImage(spec);
    const before = calls.length;
    try {
      await buildImages(runner, [spec], 15 * 60_000);
      outcomes.push({
        service: spec.service,
        image: spec.image,
        base,
        status: 'built',
        argv: dockerBuildArgs(spec),
        ran: calls[before]!.slice(1),
        seconds: (Date.now() - started) / 1000,
      });
    } catch (err) {
      const e = err as Error & { details?: string };
      outcomes.push({
        service: spec.service,
        image: spec.image,
        base,
        status: 'failed',
        reason: e.message,
        argv: dockerBuildArgs(spec),
        ran: calls[before]?.slice(1),
        seconds: (Date.now() - started) / 1000,
        output: (e.details ?? '').slice(-3000),
      });
    }
  }
  return outcomes.sort((a, b) => a.service.localeCompare(b.service));
}
