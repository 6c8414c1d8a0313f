import { describe, expect, it } from 'vitest';
import { podProblem, rolloutStatus } from '../../src/stack/rollout.js';
import { dockerBuildArgs, loadImageSpecs, planImport } from '../../src/images/images.js';
import { normalizeImage } from '../../src/images/image-names.js';
import type { DeploymentObject, PodObject } from '../../src/kube/objects.js';

const deployment = (spec: number, status: DeploymentObject['status'], generation = 2): DeploymentObject => ({
  metadata: { name: 'web', generation },
  spec: { replicas: spec },
  status,
});

describe('rolloutStatus follows kubectl rollout status', () => {
  it('waits for the new generation to be observed', () => {
    expect(
      rolloutStatus(deployment(2, { observedGeneration: 1, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }))
        .done,
    ).toBe(false);
  });
  it('waits for updated, then old replicas to go, then availability', () => {
    expect(
      rolloutStatus(deployment(3, { observedGeneration: 2, updatedReplicas: 1, replicas: 3, availableReplicas: 3 }))
        .message,
    ).toBe('web 1/3 updated');
    expect(
      rolloutStatus(deployment(3, { observedGeneration: 2, updatedReplicas: 3, replicas: 4, availableReplicas: 3 }))
        .message,
    ).toBe('web: 1 old replicas pending termination');
    expect(
      rolloutStatus(deployment(3, { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }))
        .message,
    ).toBe('web 2/3 ready');
    expect(
      rolloutStatus(deployment(3, { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }))
        .done,
    ).toBe(true);
  });
  it('fails on ProgressDeadlineExceeded', () => {
    const r = rolloutStatus(
      deployment(1, {
        observedGeneration: 2,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      }),
    );
    expect(r.failed).toBe('deployment "web" exceeded its progress deadline');
  });
});

describe('podProblem', () => {
  const pod = (status: PodObject['status']): PodObject => ({ metadata: { name: 'p', namespace: 'keystone' }, status });
  it('names image pulls of local images with the import hint, and other images with a registry hint', () => {
    const local = podProblem(
      pod({
        containerStatuses: [
          {
            name: 'w',
            image: 'keystone-celery-worker:0.2.0',
            state: { waiting: { reason: 'ErrImagePull', message: 'pull access denied' } },
          },
        ],
      }),
      ['keystone-celery-worker:0.1.0'],
    );
    expect(local).toMatchObject({ reason: 'ErrImagePull', message: 'pull access denied' });
    // Same repository, another tag: import-images would answer "unknown image", so it is not the hint.
    expect(local?.hint).toBe(
      'keystone-celery-worker:0.2.0 is not an image keystone builds (images/compose.yaml has keystone-celery-worker:0.1.0): use one of those, or add it to images/compose.yaml and run `keystone import-images`',
    );
    const built = podProblem(
      pod({
        containerStatuses: [
          {
            name: 'w',
            image: 'docker.io/library/keystone-celery-worker:0.1.0',
            state: { waiting: { reason: 'ErrImageNeverPull' } },
          },
        ],
      }),
      ['keystone-celery-worker:0.1.0'],
    );
    expect(built?.hint).toBe(
      'docker.io/library/keystone-celery-worker:0.1.0 is built locally: run `keystone import-images` to put it into the cluster',
    );
    const remote = podProblem(
      pod({
        containerStatuses: [{ name: 'r', image: 'redis:9.9', state: { waiting: { reason: 'ImagePullBackOff' } } }],
      }),
      ['keystone-celery-worker:0.1.0'],
    );
    expect(remote?.hint).toContain('check the image name and tag');
  });
  it('reports Unschedulable and CrashLoopBackOff, and is quiet while a pod is merely starting', () => {
    expect(
      podProblem(
        pod({
          conditions: [
            { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/5 nodes are available' },
          ],
        }),
      )?.reason,
    ).toBe('Unschedulable');
    expect(
      podProblem(pod({ containerStatuses: [{ name: 'c', state: { waiting: { reason: 'CrashLoopBackOff' } } }] }))?.hint,
    ).toContain('--previous');
    expect(
      podProblem(pod({ containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] })),
    ).toBeUndefined();
  });
});

describe('planImport', () => {
  const build = { context: '/p/images/x', args: {} };
  const specs = [
    { service: 'a', image: 'a:1', build },
    { service: 'b', image: 'b:1', build },
    { service: 'c', image: 'c:1', build },
  ];
  it('builds what Docker lacks, skips what every node has, imports the rest', () => {
    const plan = planImport({
      specs,
      local: new Map([
        ['a:1', false],
        ['b:1', true],
        ['c:1', true],
      ]),
      inCluster: new Set([normalizeImage('c:1')]),
      forceBuild: false,
    });
    expect(plan.build.map((s) => s.image)).toEqual(['a:1']);
    expect(plan.import.map((s) => s.image)).toEqual(['a:1', 'b:1']);
    expect(plan.skipped).toEqual([{ spec: specs[2], reason: 'already in the cluster' }]);
  });
  it('refuses an image it can neither find nor build', () => {
    const unbuildable = specs.map(({ service, image }) => ({ service, image }));
    expect(() => planImport({ specs: unbuildable, local: new Map(), inCluster: new Set(), forceBuild: false })).toThrow(
      'image a:1 is not in Docker and there is no build file for it',
    );
  });
});

describe('normalizeImage', () => {
  it('spells references the way containerd stores them', () => {
    expect(normalizeImage('redis:7')).toBe('docker.io/library/redis:7');
    expect(normalizeImage('keystone/lammps:0.1.0')).toBe('docker.io/keystone/lammps:0.1.0');
    expect(normalizeImage('fenicsx-toolbox')).toBe('docker.io/library/fenicsx-toolbox:latest');
    expect(normalizeImage('localhost:5000/x:1')).toBe('localhost:5000/x:1');
  });
});

describe('image builds without Docker Compose', () => {
  it('turns each compose.yaml build section into a `docker build` argv (context and dockerfile as Compose reads them)', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'keystone-compose-'));
    const file = join(dir, 'compose.yaml');
    await writeFile(
      file,
      'services:\n  a:\n    image: a:1\n    build: ./a\n  b:\n    image: b:1\n    build:\n      context: b\n      dockerfile: docker/Dockerfile.dev\n      args:\n        N: 3\n      target: run\n  c:\n    image: c:1\n    build:\n      context: c\n      args: ["X=1=2"]\n  pulled:\n    image: redis:7\n',
    );
    const specs = await loadImageSpecs(file);
    expect(specs.slice(0, 3).map((s) => dockerBuildArgs(s))).toEqual([
      ['build', '-t', 'a:1', join(dir, 'a')],
      [
        'build',
        '-t',
        'b:1',
        '-f',
        join(dir, 'b', 'docker', 'Dockerfile.dev'),
        '--build-arg',
        'N=3',
        '--target',
        'run',
        join(dir, 'b'),
      ],
      ['build', '-t', 'c:1', '--build-arg', 'X=1=2', join(dir, 'c')],
    ]);
    expect(specs[3]).toEqual({ service: 'pulled', image: 'redis:7' });
  });

  it('refuses a build key it would otherwise ignore (exit 2)', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'keystone-compose-'));
    const file = join(dir, 'compose.yaml');
    await writeFile(file, 'services:\n  a:\n    image: a:1\n    build:\n      context: a\n      secrets: [token]\n');
    await expect(loadImageSpecs(file)).rejects.toMatchObject({
      message: expect.stringContaining('services.a.build.secrets is not supported'),
      exitCode: 2,
    });
  });
});
