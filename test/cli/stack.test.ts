// `keystone setup` end to end with the stack: images, manifests, rollouts, idempotency.
import { afterEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHarness, createReadyHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.cleanup());

const manifestObjects = [
  ['namespaces', undefined, 'keystone'],
  ['persistentvolumeclaims', 'keystone', 'redis-data'],
  ['deployments', 'keystone', 'redis'],
  ['services', 'keystone', 'redis'],
  ['services', 'keystone', 'redis-external'],
  ['networkpolicies', 'keystone', 'redis-clients-only'],
  ['deployments', 'keystone', 'celery-worker'],
  ['jobs', 'keystone', 'fenicsx-template'],
  ['jobs', 'keystone', 'lammps-template'],
  ['jobs', 'keystone', 'openfoam-template'],
] as const;

function generations(harness: Harness): Record<string, number | undefined> {
  return Object.fromEntries(
    manifestObjects.map(([r, ns, n]) => [`${r}/${n}`, harness.api.get(r, ns, n)?.metadata.generation]),
  );
}

async function editManifest(harness: Harness, file: string, from: string, to: string): Promise<void> {
  const path = join(harness.project, 'k8s', 'manifests', file);
  const text = await readFile(path, 'utf8');
  expect(text).toContain(from);
  await writeFile(path, text.replace(from, to));
}

describe('setup brings the whole stack up', () => {
  it('from a fresh machine: builds each image with docker build, imports them in one call, applies every manifest, every Deployment Available', async () => {
    h = await createHarness();
    const r = await h.run(['setup', '--verbose']);
    expect(r.exitCode, r.stderr).toBe(0);

    const calls = await h.calls();
    // One `docker build` per image from its compose.yaml build context (no Compose plugin needed).
    expect(calls.filter((c) => c[0] === 'docker' && c[1] === 'compose')).toEqual([]);
    const builds = calls.filter((c) => c[0] === 'docker' && c[1] === 'build');
    // The simulation images share images/mpi/: their context is images/, their Dockerfile their own.
    const images = join(h.project, 'images');
    expect(builds.map((c) => c.slice(3))).toEqual([
      ['keystone-celery-worker:0.1.0', join(images, 'celery-worker')],
      ...['fenicsx', 'lammps', 'openfoam'].map((dir, i) => [
        ['fenicsx-toolbox:0.1.0', 'keystone/lammps:0.1.0', 'openfoam-toolbox:0.1.0'][i]!,
        '-f',
        join(images, dir, 'Dockerfile'),
        images,
      ]),
    ]);
    const imports = calls.filter((c) => c[0] === 'k3d' && c[1] === 'image');
    expect(imports).toEqual([
      [
        'k3d',
        'image',
        'import',
        'keystone-celery-worker:0.1.0',
        'fenicsx-toolbox:0.1.0',
        'keystone/lammps:0.1.0',
        'openfoam-toolbox:0.1.0',
        '--cluster',
        'keystone-cluster',
      ],
    ]);

    for (const [resource, ns, name] of manifestObjects)
      expect(h.api.get(resource, ns, name), `${resource}/${name}`).toBeDefined();
    for (const name of ['redis', 'celery-worker']) {
      const d = h.api.get('deployments', 'keystone', name);
      expect(d.status.conditions.find((c: { type: string }) => c.type === 'Available').status).toBe('True');
      expect(d.status.availableReplicas).toBe(d.spec.replicas);
    }
    expect(h.api.get('persistentvolumeclaims', 'keystone', 'redis-data').status.phase).toBe('Bound');
    const pods = h.api.objects('pods');
    expect(pods).toHaveLength(3);
    expect(pods.every((p: { status: { phase: string } }) => p.status.phase === 'Running')).toBe(true);
    // Job templates are stored suspended and never run.
    expect(h.api.get('jobs', 'keystone', 'lammps-template').spec.suspend).toBe(true);

    // The Redis password exists and is never printed, even with --verbose.
    const secret = h.api.get('secrets', 'keystone', 'redis-auth');
    const password = secret.stringData?.password ?? Buffer.from(secret.data.password, 'base64').toString();
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(r.stdout + r.stderr).not.toContain(password);
    // Every manifest object is applied with one server-side apply PATCH, field manager keystone.
    const patches = h.api.requests.filter((q) => q.method === 'PATCH');
    expect(patches).toHaveLength(manifestObjects.length);
    expect(patches.every((q) => q.query.includes('fieldManager=keystone'))).toBe(true);
    // No discovery requests.
    expect(
      h.api.requests.filter((q) => q.path === '/api' || q.path === '/apis' || q.path.startsWith('/openapi')),
    ).toEqual([]);
  });

  it('a second run changes nothing: same generations, only apply requests, no build or import, the password kept', async () => {
    h = await createReadyHarness();
    const before = generations(h);
    const secret = JSON.stringify(h.api.get('secrets', 'keystone', 'redis-auth'));
    const podNames = h.api
      .objects('pods')
      .map((p: { metadata: { name: string } }) => p.metadata.name)
      .sort();
    await h.clearCalls();
    const start = h.api.requests.length;

    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(generations(h)).toEqual(before);
    expect(JSON.stringify(h.api.get('secrets', 'keystone', 'redis-auth'))).toBe(secret);
    expect(
      h.api
        .objects('pods')
        .map((p: { metadata: { name: string } }) => p.metadata.name)
        .sort(),
    ).toEqual(podNames);
    expect(r.stderr).toContain('kept the existing Redis password');
    expect(r.stderr).toMatch(/skipped keystone-celery-worker:0\.1\.0 \(already in the cluster\)/);
    const calls = await h.calls();
    expect(calls.filter((c) => c[1] === 'compose' || (c[1] === 'image' && c[2] === 'import'))).toEqual([]);
    const made = h.api.requests.slice(start);
    expect(made.filter((q) => q.method === 'PATCH')).toHaveLength(manifestObjects.length);
    expect(made.filter((q) => !['GET', 'PATCH'].includes(q.method)).map((q) => `${q.method} ${q.path}`)).toEqual([
      'POST /api/v1/namespaces/keystone/secrets', // answered 409 AlreadyExists: the password is kept
    ]);
  }, 90_000); // several CLI runs: bounded, not timed

  it('a changed manifest is applied and its rollout waited for', async () => {
    h = await createReadyHarness();
    const before = generations(h);
    await editManifest(h, '20-celery-worker.yaml', 'replicas: 2', 'replicas: 3');
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    const after = generations(h);
    expect(after['deployments/celery-worker']).toBe((before['deployments/celery-worker'] ?? 0) + 1);
    expect({ ...after, 'deployments/celery-worker': 0 }).toEqual({ ...before, 'deployments/celery-worker': 0 });
    expect(r.stderr).toContain('rolling out celery-worker');
    expect(h.api.get('deployments', 'keystone', 'celery-worker').status.availableReplicas).toBe(3);
  }, 90_000); // several CLI runs: bounded, not timed

  it('an image that is not in the cluster fails early with the pod, the reason and a hint', async () => {
    h = await createReadyHarness();
    await editManifest(
      h,
      '20-celery-worker.yaml',
      'image: keystone-celery-worker:0.1.0',
      'image: keystone-celery-worker:0.2.0',
    );
    const r = await h.run(['setup', '--timeout', '60s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/error: pod celery-worker-\S+ cannot start: (ErrImagePull|ImagePullBackOff)/);
    // Not `keystone import-images`: that builds only what images/compose.yaml names, and 0.2.0 is not there.
    expect(r.stderr).toContain(
      'keystone-celery-worker:0.2.0 is not an image keystone builds (images/compose.yaml has keystone-celery-worker:0.1.0)',
    );
    expect(r.stderr).toMatch(/not done: stack ready/);
  }, 90_000); // several CLI runs: bounded, not timed

  it('a :latest image without a pull policy is pulled even though it was imported, and that fails clearly', async () => {
    h = await createHarness();
    await h.setState({ docker: { images: ['keystone-celery-worker:latest'] } });
    expect((await h.run(['setup'])).exitCode).toBe(0);
    await h.run(['import-images']); // nothing new; the :latest image below is imported by hand:
    await fetch(`${h.api.url}/__fake/images`, {
      method: 'POST',
      body: JSON.stringify({ images: ['keystone-celery-worker:latest'] }),
    });
    await editManifest(
      h,
      '20-celery-worker.yaml',
      'image: keystone-celery-worker:0.1.0\n          imagePullPolicy: IfNotPresent',
      'image: keystone-celery-worker:latest',
    );
    const r = await h.run(['setup', '--timeout', '60s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot start: (ErrImagePull|ImagePullBackOff)/);
  }, 90_000); // several CLI runs: bounded, not timed

  it('--dry-run on a fresh machine prints the plan (k3d calls and objects) and changes nothing', async () => {
    h = await createHarness();
    const r = await h.run(['setup', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('[dry-run] would run: k3d cluster create');
    expect(r.stderr).toContain(
      '[dry-run] would apply Deployment keystone/celery-worker (k8s/manifests/20-celery-worker.yaml:',
    );
    expect(h.api.requests).toEqual([]);
    expect(Object.keys((await h.state()).clusters ?? {})).toEqual([]);
  });

  it("--dry-run on a running cluster uses the API server's dry run and changes nothing", async () => {
    h = await createReadyHarness();
    const before = generations(h);
    await editManifest(h, '20-celery-worker.yaml', 'replicas: 2', 'replicas: 4');
    const start = h.api.requests.length;
    const r = await h.run(['setup', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('objects are valid (server dry run, nothing changed)');
    const writes = h.api.requests.slice(start).filter((q) => q.method !== 'GET');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((q) => q.query.includes('dryRun=All'))).toBe(true);
    expect(generations(h)).toEqual(before);
    expect(h.api.get('deployments', 'keystone', 'celery-worker').spec.replicas).toBe(2);
  });

  it('an invalid manifest is rejected before anything is done (exit 2)', async () => {
    h = await createHarness();
    await writeFile(
      join(h.project, 'k8s', 'manifests', '40-broken.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\n  namespace: keystone\nspec:\n  replicas: "two"\n',
    );
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /k8s\/manifests\/40-broken\.yaml:1: Deployment broken is not a valid Kubernetes object: spec must have required property selector/,
    );
    expect(await h.calls()).toEqual([]);
    expect(h.api.requests).toEqual([]);
  });

  it('a field another tool changed is a conflict naming the manager and field; --force-conflicts takes it back', async () => {
    h = await createReadyHarness();
    // Someone runs `kubectl edit` and sets the worker's replicas by hand.
    const res = await fetch(
      `${h.api.url}/apis/apps/v1/namespaces/keystone/deployments/celery-worker?fieldManager=kubectl-edit`,
      {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: JSON.stringify({ spec: { replicas: 1 } }),
      },
    );
    expect(res.status).toBe(200);
    let r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'apply conflict on Deployment keystone/celery-worker (k8s/manifests/20-celery-worker.yaml:',
    );
    expect(r.stderr).toContain('.spec.replicas (conflict with "kubectl-edit" using apps/v1)');
    expect(r.stderr).toContain('--force-conflicts');
    r = await h.run(['setup', '--force-conflicts']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(h.api.get('deployments', 'keystone', 'celery-worker').spec.replicas).toBe(2);
  }, 90_000); // several CLI runs: bounded, not timed

  it('a namespace being deleted stops setup with what to do', async () => {
    h = await createReadyHarness();
    const ns = h.api.get('namespaces', undefined, 'keystone');
    h.api.update('namespaces', {
      ...ns,
      metadata: { ...ns.metadata, deletionTimestamp: new Date().toISOString() },
      status: { phase: 'Terminating' },
    });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('namespace keystone is being deleted');
  });

  it('repairs a stack deleted by hand', async () => {
    h = await createReadyHarness();
    h.api.remove('deployments', 'keystone', 'celery-worker');
    for (const p of h.api
      .objects('pods')
      .filter((p: { metadata: { labels: Record<string, string> } }) => p.metadata.labels.app === 'celery-worker')) {
      h.api.remove('pods', 'keystone', p.metadata.name);
    }
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(h.api.get('deployments', 'keystone', 'celery-worker').status.availableReplicas).toBe(2);
  });
});

describe('import-images', () => {
  it('builds what Docker lacks, imports in one k3d call, and says what it skipped', async () => {
    h = await createReadyHarness();
    await h.clearCalls();
    let r = await h.run(['import-images']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('skipped keystone-celery-worker:0.1.0 (already in the cluster)');
    expect((await h.calls('k3d')).filter((c) => c[1] === 'image')).toEqual([]);

    r = await h.run(['import-images', 'lammps', '--build']);
    expect(r.exitCode, r.stderr).toBe(0);
    const calls = await h.calls();
    expect(calls.filter((c) => c[0] === 'docker' && c[1] === 'build')).toEqual([
      [
        'docker',
        'build',
        '-t',
        'keystone/lammps:0.1.0',
        '-f',
        join(h.project, 'images', 'lammps', 'Dockerfile'),
        join(h.project, 'images'),
      ],
    ]);
    expect(calls.filter((c) => c[0] === 'k3d' && c[1] === 'image')).toEqual([
      ['k3d', 'image', 'import', 'keystone/lammps:0.1.0', '--cluster', 'keystone-cluster'],
    ]);
    expect(r.stderr).toContain('imported keystone/lammps:0.1.0');
  }, 90_000); // several CLI runs: bounded, not timed

  it('unknown image names are usage errors listing the known ones', async () => {
    h = await createReadyHarness();
    const r = await h.run(['import-images', 'celery']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown image "celery"');
    expect(r.stderr).toContain(
      'images: keystone-celery-worker:0.1.0, fenicsx-toolbox:0.1.0, keystone/lammps:0.1.0, openfoam-toolbox:0.1.0',
    );
  });

  it('needs a running cluster', async () => {
    h = await createHarness();
    const r = await h.run(['import-images']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('cluster "keystone-cluster" is not running');
  });
});

describe('apply', () => {
  it('applies only the stack, to the keystone cluster or another context; --wait waits; --dry-run changes nothing', async () => {
    h = await createReadyHarness();
    h.api.remove('deployments', 'keystone', 'redis');
    await h.clearCalls();
    let r = await h.run(['apply', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(h.api.get('deployments', 'keystone', 'redis')).toBeUndefined();
    r = await h.run(['apply', '--wait']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(h.api.get('deployments', 'keystone', 'redis').status.availableReplicas).toBe(1);
    expect(await h.calls('k3d')).toEqual([]); // the cluster itself is not touched
    const { writeFile: write } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    const { kubeconfigFor } = await import('../fakes/kube-api-server.mjs');
    const file = join(h.home, 'lab.yaml');
    await write(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
    r = await h.run(['apply', '--context', 'lab', '--kubeconfig', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('applied 9 objects');
  });

  it('--dry-run on a bare cluster (no keystone namespace yet): lists what it would create, sends nothing the server must refuse; apply then creates it all, namespace first', async () => {
    h = await createHarness();
    const { stringify } = await import('yaml');
    const { kubeconfigFor } = await import('../fakes/kube-api-server.mjs');
    const file = join(h.home, 'bare.yaml');
    await writeFile(file, stringify(kubeconfigFor(h.api.url, 'bare')), { mode: 0o600 });
    const bare = ['--context', 'bare', '--kubeconfig', file];
    expect(h.api.get('namespaces', undefined, 'keystone')).toBeUndefined();
    const before = h.api.requests.length;
    let r = await h.run(['apply', '--dry-run', ...bare]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('would create namespace keystone (valid: server dry run)');
    expect(r.stderr).toContain('would create the Secret redis-auth with a generated password');
    for (const [, ns, name] of manifestObjects.slice(1))
      expect(r.stderr).toMatch(new RegExp(`\\[dry-run\\] would create \\w+ ${ns}/${name} \\(k8s/manifests/`));
    expect(r.stderr).toContain(
      'would create 9 objects (not checked: namespace keystone does not exist yet, so the API server cannot check what would go in it)',
    );
    expect(r.stderr).not.toMatch(/error:|not found|done:/);
    // Only reads and the namespace's own dry run: nothing sent into the namespace that is not there.
    const sent = h.api.requests.slice(before).filter((q) => q.method !== 'GET');
    expect(sent.map((q) => `${q.method} ${q.path}${q.query}`)).toEqual([
      'PATCH /api/v1/namespaces/keystone?fieldManager=keystone&dryRun=All',
    ]);
    expect(h.api.objects('namespaces').map((n: { metadata: { name: string } }) => n.metadata.name)).not.toContain(
      'keystone',
    );

    r = await h.run(['apply', ...bare]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('generated the Redis password (Secret redis-auth)');
    expect(r.stderr).toContain('applied 9 objects');
    for (const [resource, ns, name] of manifestObjects) expect(h.api.get(resource, ns, name)).toBeDefined();
    // Now that the namespace exists, a dry run is the server's own again.
    r = await h.run(['apply', '--dry-run', ...bare]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('9 objects are valid (server dry run, nothing changed)');
    // A dry run that fails part-way did nothing: its steps were checked, never "done".
    h.api.faults.push({
      match: (q: { method: string; path: string }) => q.method === 'PATCH' && q.path.endsWith('/deployments/redis'),
      status: 403,
      times: 1,
    });
    r = await h.run(['apply', '--dry-run', ...bare]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('checked (dry run, nothing changed): namespace keystone, redis password');
    expect(r.stderr).toContain('not checked: apply manifests');
    expect(r.stderr).not.toMatch(/^(not )?done:/m);
  });
});

describe('the fake API server refuses what the real one refuses: NamespaceLifecycle admission', () => {
  // kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go (Admit).
  it('a create (POST, or an apply patch that creates; dry run or not) in a namespace that does not exist is 404 namespaces "x" not found; in one being deleted, 403', async () => {
    h = await createHarness();
    const send = async (method: string, path: string, body: unknown, contentType = 'application/json') => {
      const res = await fetch(`${h.api.url}${path}`, {
        method,
        headers: { 'content-type': contentType, authorization: 'Bearer fake-token-do-not-print' },
        body: JSON.stringify(body),
      });
      return { code: res.status, body: (await res.json()) as { message?: string; reason?: string; details?: unknown } };
    };
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } };
    for (const path of ['/api/v1/namespaces/nowhere/secrets', '/api/v1/namespaces/nowhere/secrets?dryRun=All']) {
      const r = await send('POST', path, secret);
      expect(r.code).toBe(404);
      expect(r.body).toMatchObject({
        reason: 'NotFound',
        message: 'namespaces "nowhere" not found',
        details: { name: 'nowhere', kind: 'namespaces' },
      });
    }
    const applied = await send(
      'PATCH',
      '/api/v1/namespaces/nowhere/configmaps/c?fieldManager=t&dryRun=All',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
      'application/apply-patch+yaml',
    );
    expect(applied.code).toBe(404);
    expect(applied.body.message).toBe('namespaces "nowhere" not found');
    h.api.create('namespaces', { metadata: { name: 'going' }, status: { phase: 'Terminating' } });
    const terminating = await send('POST', '/api/v1/namespaces/going/secrets', secret);
    expect(terminating.code).toBe(403);
    expect(terminating.body.message).toBe(
      'secrets "s" is forbidden: unable to create new content in namespace going because it is being terminated',
    );
    h.api.create('namespaces', { metadata: { name: 'here' }, status: { phase: 'Active' } });
    expect((await send('POST', '/api/v1/namespaces/here/secrets', secret)).code).toBe(201);
  });
});
