// start / stop / delete / status / doctor as a user runs them.
import { afterEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createHarness, createReadyHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.cleanup());

describe('start, stop, delete', () => {
  it('stops, starts (waiting for nodes) and deletes the cluster, keeping ./data', async () => {
    h = await createReadyHarness();

    let r = await h.run(['stop']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await h.state()).clusters['keystone-cluster'].serversRunning).toBe(0);
    expect(r.stderr).toContain('stopped cluster keystone-cluster');

    r = await h.run(['stop']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('skipped: already stopped');

    r = await h.run(['start']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('5/5 nodes Ready');

    r = await h.run(['delete']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await h.state()).clusters).toEqual({});
    expect(existsSync(join(h.project, 'data', 'fenicsx'))).toBe(true);
    const kubeconfig = parse(await readFile(h.kubeconfig, 'utf8'));
    expect(kubeconfig.contexts.map((c: { name: string }) => c.name)).not.toContain('k3d-keystone-cluster');

    r = await h.run(['delete']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('skipped: it does not exist');
    expect(r.stderr).toContain('kubeconfig context k3d-keystone-cluster (skipped: not in any kubeconfig)');
  }, 90_000); // seven CLI runs: on a loaded 2-core machine they pass 30 s

  it('start and stop of a cluster that does not exist fail with the way to create it', async () => {
    h = await createHarness();
    for (const verb of ['start', 'stop']) {
      const r = await h.run([verb]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('error: cluster "keystone-cluster" does not exist');
      expect(r.stderr).toContain('hint: create it with `keystone setup`');
    }
  });

  it('refuses to stop or delete a cluster named by --context that keystone did not create (exit 2)', async () => {
    h = await createHarness();
    const r = await h.run(['delete', '--context', 'prod-cluster']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('context "prod-cluster" is not it');
    expect(await h.calls('k3d')).toEqual([]);
  });

  it('--dry-run prints the k3d call and leaves the cluster alone', async () => {
    h = await createReadyHarness();
    const r = await h.run(['delete', '--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('[dry-run] would run: k3d cluster delete keystone-cluster');
    expect(Object.keys((await h.state()).clusters)).toEqual(['keystone-cluster']);
  });
});

describe('status', () => {
  it('-o json gives the cluster and its nodes as one document on stdout, from five list requests and no k3d call', async () => {
    h = await createReadyHarness();
    await h.clearCalls();
    const before = h.api.requests.length;
    const r = await h.run(['status', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    // Every node Ready, named and labelled as k3d and k3s make them, as many as the config asks
    // for: the cluster's shape comes from the nodes, and `k3d cluster list` is not run.
    expect(await h.calls('k3d')).toEqual([]);
    expect(
      h.api.requests
        .slice(before)
        .map((q) => `${q.method} ${q.path}${q.query}`)
        .sort(),
    ).toEqual([
      'GET /api/v1/namespaces/keystone/persistentvolumeclaims?limit=500',
      'GET /api/v1/namespaces/keystone/services?limit=500',
      'GET /api/v1/nodes?limit=500',
      'GET /apis/apps/v1/namespaces/keystone/deployments?limit=500',
      'GET /apis/batch/v1/namespaces/keystone/jobs?limit=500',
    ]);
    const report = JSON.parse(r.stdout);
    expect(report.context).toBe('k3d-keystone-cluster');
    expect(report.cluster).toEqual({
      name: 'keystone-cluster',
      managedBy: 'k3d',
      phase: 'running',
      servers: { running: 2, count: 2 },
      agents: { running: 3, count: 3 },
    });
    expect(report.api.reachable).toBe(true);
    expect(report.nodes).toHaveLength(5);
    expect(report.nodes.filter((n: { roles: string[] }) => n.roles.includes('control-plane'))).toHaveLength(2);
    expect(
      report.nodes.every((n: { ready: boolean; version: string }) => n.ready && n.version === 'v1.31.5+k3s1'),
    ).toBe(true);
    expect(report.healthy).toBe(true);
  });

  it('shows a missing cluster and a NotReady node in the table', async () => {
    h = await createHarness();
    let r = await h.run(['status']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('keystone-cluster (k3d)  does not exist');
    expect(r.stdout).toContain('run `keystone setup`');

    await h.run(['setup']);
    h.api.setNodeReady('k3d-keystone-cluster-agent-1', false, 'NodeStatusUnknown');
    await h.clearCalls();
    r = await h.run(['status']);
    expect(r.stdout).toMatch(/k3d-keystone-cluster-agent-1\s+NotReady \(NodeStatusUnknown\)/);
    expect(r.stdout).toContain('Not healthy: nodes not Ready: k3d-keystone-cluster-agent-1.');
    // A NotReady node may be a stopped container: only k3d can say, so it is asked.
    expect(await h.calls('k3d')).toEqual([['k3d', 'cluster', 'list', '-o', 'json']]);
    expect(r.stdout).toContain('keystone-cluster (k3d)  running  servers 2/2  agents 3/3');
  });

  it("a stopped node (k3d says so, the node controller has marked it NotReady): degraded, from k3d's list", async () => {
    h = await createReadyHarness();
    const state = await h.state();
    state.clusters['keystone-cluster'].agentsRunning = 2;
    await h.setState(state);
    h.api.setNodeReady('k3d-keystone-cluster-agent-2', false, 'NodeStatusUnknown');
    await h.clearCalls();
    const r = await h.run(['status', '-o', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.cluster).toMatchObject({
      phase: 'degraded',
      servers: { running: 2, count: 2 },
      agents: { running: 2, count: 3 },
    });
    expect(report.verdict).toBe('Not healthy: some cluster nodes are stopped; run `keystone start`.');
    expect(await h.calls('k3d')).toEqual([['k3d', 'cluster', 'list', '-o', 'json']]);
  }, 90_000);

  it("reports a stopped cluster from k3d's list once its API does not answer", async () => {
    h = await createReadyHarness();
    await h.run(['stop']);
    await h.clearCalls();
    const before = h.api.requests.length;
    const r = await h.run(['status', '-o', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.cluster).toMatchObject({
      phase: 'stopped',
      servers: { running: 0, count: 2 },
      agents: { running: 0, count: 3 },
    });
    expect(report.api).toEqual({ reachable: false });
    expect(report.verdict).toBe('Not healthy: the cluster is stopped; run `keystone start`.');
    expect(await h.calls('k3d')).toEqual([['k3d', 'cluster', 'list', '-o', 'json']]);
    expect(h.api.requests.length).toBe(before); // the stopped API took no request
  }, 90_000); // setup then more CLI runs: bounded, not timed

  it('works against another cluster named by --context and never touches the current-context', async () => {
    h = await createHarness();
    const { writeFile, mkdir } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    const { kubeconfigFor } = await import('../fakes/kube-api-server.mjs');
    // The user's current-context points at "other"; keystone must use only what --context names.
    const file = join(h.home, 'lab.yaml');
    await mkdir(h.home, { recursive: true });
    await writeFile(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
    h.api.create('nodes', {
      metadata: { name: 'lab-node-1' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const r = await h.run(['status', '-o', 'json', '--context', 'lab', '--kubeconfig', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.cluster.managedBy).toBe('external');
    expect(report.nodes.map((n: { name: string }) => n.name)).toEqual(['lab-node-1']);
    expect(await h.calls('k3d')).toEqual([]);

    const missing = await h.run(['status', '--context', 'nope', '--kubeconfig', file, '-o', 'json']);
    expect(JSON.parse(missing.stdout).api.error).toContain('context "nope" is not in');
  });
});

describe('doctor', () => {
  it('passes every check on a healthy machine', async () => {
    h = await createReadyHarness();
    const r = await h.run(['doctor', '-o', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.checks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['cluster config', 'ok'],
      ['docker', 'ok'],
      ['kubectl', 'ok'],
      ['k3d', 'ok'],
      ['host ports', 'ok'],
      ['image builds', 'ok'],
      ['data directory', 'ok'],
      ['kube context', 'ok'],
      ['kubernetes API', 'ok'], // issue 22 #10: the server answers and takes the credentials
    ]);
    expect(r.exitCode).toBe(0);
  }, 90_000); // setup then more CLI runs: bounded, not timed

  it('reports each failure with a fix and exits 1', async () => {
    h = await createHarness({
      tools: ['docker', 'kubectl'],
      state: { docker: { down: true }, kubectl: { version: 'v1.20.0' } },
    });
    const r = await h.run(['doctor']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✗ docker: Docker is not running or not reachable.*\n\s+fix: start Docker/);
    expect(r.stdout).toMatch(/✗ kubectl: kubectl 1.20.0 is too old/);
    expect(r.stdout).toMatch(/✗ k3d: k3d is not installed\n\s+fix: `keystone setup` installs it/);
    expect(r.stdout).toContain('3 checks failed.');
  });

  // Found by npm run test:containers (docker-calls.containers.ts, the daemon stopped): `docker
  // image inspect` exits 1 both for an image Docker lacks and for a daemon that does not answer.
  it('with Docker stopped, leaves image builds and disk space unchecked instead of "4 of 4 images will be built"', async () => {
    h = await createHarness({ state: { docker: { down: true } } });
    const r = await h.run(['doctor', '-o', 'json']);
    expect(r.exitCode).toBe(1);
    const checks = JSON.parse(r.stdout).checks as { name: string; status: string; detail: string }[];
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName.docker?.status).toBe('fail');
    for (const name of ['image builds', 'disk space']) {
      expect(byName[name]?.status, name).toBe('warn');
      expect(byName[name]?.detail, name).toMatch(
        /^not checked: Docker is not running or not reachable: Cannot connect to the Docker daemon/,
      );
    }
    expect(byName['host ports']?.status).toBe('ok');
  });

  it('warns about a kubeconfig others can read', async () => {
    h = await createReadyHarness();
    const { chmod } = await import('node:fs/promises');
    await chmod(h.kubeconfig, 0o644);
    const r = await h.run(['doctor', '-o', 'json']);
    const context = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'kube context');
    expect(context.status).toBe('warn');
    expect(context.detail).toContain('readable by others (mode 644)');
  });
});

describe('usage errors', () => {
  it('exit 2 with a suggestion for a mistyped command', async () => {
    h = await createHarness();
    const r = await h.run(['stauts']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown command 'stauts'");
    expect(r.stderr).toContain('Did you mean status?');
  });

  it('exit 2 for a bad --timeout or output format', async () => {
    h = await createHarness();
    let r = await h.run(['setup', '--timeout', 'soon']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--timeout "soon" is not a duration');
    r = await h.run(['status', '-o', 'xml']);
    expect(r.exitCode).toBe(2);
  });

  it('prints the overview with no command and the version with --version', async () => {
    h = await createHarness();
    let r = await h.run([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: keystone');
    // The installed launcher (bin/keystone.cjs and the bundle in dist/), not only main():
    r = await h.runProcess(['--version']);
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
