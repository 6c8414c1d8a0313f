/**
 * A Job's pod as a real container: runLikeTheJob's executor for `npm run test:containers`. The
 * image is the one keystone builds (its ENV, USER and files, not this machine's), the pod's
 * settings become `docker run` flags (pod-to-docker.ts), and the run directory is the host's
 * data directory mounted where the Job's hostPath volume puts it.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import type { JobExecutor } from '../engines/engine-run.js';
import { dockerEnv } from './daemon.js';
import { dockerRunArgs, type PodSpecLike } from './pod-to-docker.js';

/** Names of this run's containers start with this (so a leftover is easy to find). */
export const containerPrefix = 'keystone-tier-';

export function uniqueName(what: string): string {
  return `${containerPrefix}${what}-${randomBytes(3).toString('hex')}`;
}

/** Every `docker run` argv used, for the test output. */
export const dockerRuns: string[][] = [];

export function inContainer(host: string): JobExecutor {
  return async ({ tool, job, index, dataDir, timeoutMs }) => {
    const pod = job.spec.template.spec as unknown as PodSpecLike;
    const args = await dockerRunArgs(pod, pod.containers[0]!, {
      name: uniqueName(tool),
      nodeDataDir: dataDir,
      // A single pod needs no network; the runs across pods are in mpijob.containers.ts.
      network: 'none',
      // An Indexed Job's pods get JOB_COMPLETION_INDEX from the Job controller.
      env: index === undefined ? {} : { JOB_COMPLETION_INDEX: String(index) },
    });
    dockerRuns.push(['run', '--rm', ...args]);
    const r = await execa('docker', ['run', '--rm', ...args], {
      env: dockerEnv(host),
      reject: false,
      all: true,
      timeout: timeoutMs,
      stdin: 'ignore',
    });
    return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
  };
}
