// Faults not covered elsewhere, part one: the environment and the cluster's state (part two:
// reliability-faults.test.ts). Each test is a row of docs/reliability.md.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createHarness, createReadyHarness, type Harness } from '../helpers/harness.js';
import { kubeconfigFor, startFakeKubeApi } from '../fakes/kube-api-server.mjs';

let h: Harness;
afterEach(async () => h?.cleanup());

const ready = () => createReadyHarness();

describe('environment', () => {
  it('kubectl missing: setup stops with how to install it', async () => {
    h = await createHarness({ tools: ['docker', 'k3d'] });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error: kubectl is not installed (not found on PATH)');
    expect(r.stderr).toContain('hint: install kubectl >= 1.27');
  });

  it('kubectl printing an unexpected version: says what it printed', async () => {
    h = await createHarness({ state: { kubectl: { versionOutput: 'Client Version: v1.30.0\n' } } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`could not read kubectl's version from its output: "Client Version: v1.30.0"`);
  });

  it('Docker refusing access: says so with the docker-group fix', async () => {
    h = await createHarness({ state: { docker: { permissionDenied: true } } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'error: Docker refused access: permission denied while trying to connect to the Docker daemon socket',
    );
    expect(r.stderr).toContain('hint: add yourself to the docker group');
  });

  it('Docker up but slow: setup waits for it', async () => {
    // Every docker call takes a tenth of a second (the fake sleeps before it answers): slower than any
    // answer keystone could mistake for an immediate one, far inside its 20 s `docker info` bound.
    h = await createHarness({ state: { docker: { slowMs: 100 } } });
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('Docker did not answer');
    expect(r.stderr).toContain('Next: keystone status');
    expect((await h.calls('docker')).map((c) => c[1])).toContain('info');
    expect(Object.keys((await h.state()).clusters)).toEqual(['keystone-cluster']);
  });

  it('Docker not answering within KEYSTONE_DOCKER_TIMEOUT: a clear message, k3d never called', async () => {
    // Docker answers after a minute: far beyond the bound below, so only waiting for it could exceed it, never load.
    h = await createHarness({ state: { docker: { slowMs: 60_000 } } });
    const started = Date.now();
    const r = await h.run(['setup'], { env: { KEYSTONE_DOCKER_TIMEOUT: '1' } });
    expect(r.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(r.stderr).toContain('Docker did not answer `docker info` within 1s');
    expect(await h.calls('k3d')).toEqual([]);
  });

  it('kubeconfig missing, empty or corrupt: one line naming the file', async () => {
    h = await ready();
    // kubectl skips a KUBECONFIG file that does not exist: the context is then simply not there.
    const missing = await h.run(['pods'], { env: { KUBECONFIG: join(h.home, 'nope.yaml') } });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(
      /error: context "k3d-keystone-cluster" is not in any kubeconfig \(.*nope\.yaml does not exist\)/,
    );
    expect(missing.stderr).toMatch(/hint: run `keystone setup`: .* writes its context into .*nope\.yaml/);
    const explicitMissing = await h.run(['pods', '--kubeconfig', join(h.home, 'nope.yaml')]);
    expect(explicitMissing.exitCode).toBe(2);
    expect(explicitMissing.stderr).toContain('does not exist');
    await writeFile(join(h.home, 'empty.yaml'), '', { mode: 0o600 });
    const empty = await h.run(['pods', '--kubeconfig', join(h.home, 'empty.yaml')]);
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr).toMatch(
      /error: context "k3d-keystone-cluster" is not in .*empty\.yaml \(it has no contexts\)/,
    );
    await writeFile(join(h.home, 'corrupt.yaml'), 'clusters: [\n  - {name: a\n', { mode: 0o600 });
    const corrupt = await h.run(['pods', '--kubeconfig', join(h.home, 'corrupt.yaml')]);
    expect(corrupt.exitCode).toBe(1);
    expect(corrupt.stderr).toMatch(/error: kubeconfig .*corrupt\.yaml is not valid YAML: /);
    for (const r of [missing, empty, corrupt]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a kubeconfig readable by others: every command warns', async () => {
    h = await ready();
    await chmod(h.kubeconfig, 0o644);
    const r = await h.run(['pods']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(
      `warning: kubeconfig ${h.kubeconfig} is readable by other users (mode 644); run: chmod 600`,
    );
  });

  it('never acts on the current-context: it may point at another cluster, which gets no request', async () => {
    h = await ready();
    const prod = await startFakeKubeApi();
    try {
      const file = join(h.home, 'two.yaml');
      const mine = kubeconfigFor(h.api.url, 'k3d-keystone-cluster');
      const theirs = kubeconfigFor(prod.url, 'prod');
      await writeFile(
        file,
        stringify({
          ...mine,
          clusters: [...mine.clusters, ...theirs.clusters],
          users: [...mine.users, ...theirs.users],
          contexts: [...mine.contexts, ...theirs.contexts],
          'current-context': 'prod',
        }),
        { mode: 0o600 },
      );
      for (const args of [
        ['pods'],
        ['status'],
        ['scale', 'celery-worker', '1'],
        ['restart', 'redis'],
        ['logs', 'redis'],
        ['run-simulation', 'lammps', 'in.lj'],
      ]) {
        const r = await h.run([...args, '--kubeconfig', file]);
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      }
      expect(prod.requests).toEqual([]);
    } finally {
      await prod.close();
    }
  });

  it('KUBECONFIG with several files: the context is found in any of them', async () => {
    h = await ready();
    const first = join(h.home, 'other.yaml');
    await writeFile(first, stringify(kubeconfigFor('http://127.0.0.1:9', 'other')), { mode: 0o600 });
    const r = await h.run(['pods', '-o', 'json'], { env: { KUBECONFIG: `${first}:${h.kubeconfig}` } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(3);
  });
});

describe('cluster state', () => {
  it('half-created (some nodes stopped): setup starts it instead of creating', async () => {
    h = await ready();
    const state = await h.state();
    state.clusters['keystone-cluster'].agentsRunning = 1;
    await h.setState(state);
    await h.clearCalls();
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await h.calls('k3d')).filter((c) => ['create', 'start'].includes(c[2] ?? ''))).toEqual([
      ['k3d', 'cluster', 'start', 'keystone-cluster', '--wait'],
    ]);
  });

  it('a node that stays NotReady: setup times out saying how many are Ready', async () => {
    h = await ready();
    h.api.setNodeReady('k3d-keystone-cluster-agent-2', false, 'NodeStatusUnknown');
    const r = await h.run(['setup', '--timeout', '2s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('timed out after 2s waiting for nodes to become Ready (4/5 nodes Ready)');
  });

  it('a volume that stays Pending: setup times out naming it', async () => {
    h = await createHarness();
    h.cluster.bindVolumes = false;
    const r = await h.run(['setup', '--timeout', '3s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/timed out after 3s waiting for the volumes to be bound \(volumes 0\/1 bound\)/);
  });
});
