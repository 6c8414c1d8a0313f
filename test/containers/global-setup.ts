/**
 * `npm run test:containers`, before any test file: a Docker daemon (DOCKER_HOST if it answers,
 * else a dockerd of this tier's own, see daemon.ts), the Debian base image, and the project's
 * images built through keystone's own build step (src/images/images.ts: loadImageSpecs,
 * planImport with --build, buildImages — what `setup` and `import-images --build` run). The
 * outcome of each is handed to the test files (inject('containers')), which check and report it:
 * a build that fails fails images.containers.ts, an image whose base cannot be had is reported
 * there as skipped by name. Where no daemon can be had, every test file skips with the reason.
 */
import type { TestProject } from 'vitest/node';
import buildDist from '../helpers/global-setup.js';
import { execa } from 'execa';
import {
  answers,
  cacheDir,
  dockerEnv,
  ensureDebianBase,
  lockCache,
  startOwnDaemon,
  stopOwnDaemon,
  whyNoOwnDaemon,
} from './daemon.js';
import { buildProjectImages, type ImageOutcome } from './build-images.js';

export interface ContainersContext {
  /** Why the tier cannot run here; undefined when it can. */
  skip?: string;
  host: string;
  /** "own dockerd 20.10.24 (started)" or "DOCKER_HOST ... (answered)". */
  daemon: string;
  /** pid of the dockerd this run started (the daemon-stop test stops and restarts it). */
  ownPid?: number;
  base?: string;
  images: ImageOutcome[];
  setupSeconds: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    containers: ContainersContext;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  await buildDist();
  const context: ContainersContext = { host: '', daemon: '', images: [], setupSeconds: 0 };
  let ownPid: number | undefined;
  let unlock: (() => Promise<void>) | undefined;
  const given = process.env.DOCKER_HOST;
  const version = given ? await answers(given) : undefined;
  if (given && version) {
    context.host = given;
    context.daemon = `DOCKER_HOST=${given} (Docker ${version}, not started or stopped by this tier)`;
  } else {
    const why = await whyNoOwnDaemon();
    if (why) context.skip = `${given ? `DOCKER_HOST=${given} does not answer, and ` : ''}${why}`;
    else {
      unlock = await lockCache(undefined, undefined, (owner) =>
        console.log(`test:containers: waiting for the run of pid ${owner}, which uses the same daemon (${cacheDir})`),
      );
      try {
        const own = await startOwnDaemon();
        ownPid = own.pid;
        context.host = own.host;
        context.ownPid = own.pid;
        context.daemon = `own dockerd ${own.version} at ${own.host} (${own.adopted ? 'left running by an earlier run, taken over' : 'started by this run'}; --bridge=none --iptables=false)`;
      } catch (err) {
        context.skip = `Docker cannot start here: ${(err as Error).message}`;
      }
    }
  }
  if (!context.skip && ownPid !== undefined) {
    // What an interrupted earlier run left in this tier's own daemon (containers of a killed
    // test, a build's intermediate container from the daemon-stop test): never on a DOCKER_HOST.
    await execa('docker', ['container', 'prune', '-f'], { env: dockerEnv(context.host), reject: false });
  }
  if (!context.skip) {
    try {
      context.base = await ensureDebianBase(context.host);
    } catch (err) {
      context.base = `not made: ${(err as Error).message}`;
    }
    context.images = await buildProjectImages(context.host);
  }
  context.setupSeconds = (Date.now() - started) / 1000;
  project.provide('containers', context);
  return async () => {
    // Only the dockerd this run started, by its pid; the daemon-stop test may have replaced it.
    const current = ownPid === undefined ? undefined : (await import('./daemon.js')).currentOwnPid();
    if (current !== undefined) await stopOwnDaemon(current);
    await unlock?.();
  };
}
