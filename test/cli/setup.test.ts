// `keystone setup` as a user runs it: the built CLI with fake tools on PATH and the fake API.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.cleanup());

function mutatingK3dCalls(calls: string[][]): string[][] {
  return calls.filter(
    (c) => c[0] === 'k3d' && c[1] === 'cluster' && ['create', 'start', 'stop', 'delete'].includes(c[2] ?? ''),
  );
}

describe('fresh setup', () => {
  beforeEach(async () => {
    h = await createHarness();
  });

  it('checks prerequisites, creates the cluster from the config with absolute volume paths, and waits for 5 Ready nodes', async () => {
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    const calls = await h.calls();
    expect(calls[0]).toEqual(['docker', 'info', '--format', '{{json .ServerVersion}}']);
    expect(calls).toContainEqual(['kubectl', 'version', '--client', '-o', 'json']);
    const create = calls.find((c) => c[1] === 'cluster' && c[2] === 'create');
    expect(create?.slice(0, 4)).toEqual(['k3d', 'cluster', 'create', '--config']);
    // The config k3d got: same shape as the project's, ./data resolved to an absolute path.
    const given = (await h.state()).lastCreateConfig;
    expect(given.servers).toBe(2);
    expect(given.agents).toBe(3);
    expect(given.volumes[0].volume).toBe(`${join(h.project, 'data')}:/data`);
    expect(given.ports.map((p: { port: string }) => p.port.split(':')[1])).toEqual(['80', '443', '6379']);
    // The temporary resolved config is removed afterwards.
    expect(existsSync(create![4]!)).toBe(false);
    for (const tool of ['fenicsx', 'lammps', 'openfoam']) expect(existsSync(join(h.project, 'data', tool))).toBe(true);
    const nodes = h.api.objects('nodes');
    expect(nodes).toHaveLength(5);
    expect(r.stderr).toContain('5/5 nodes Ready');
    expect(r.stderr).toMatch(/Setup complete/);
    expect(r.stdout).toBe('');
  });

  it('changes nothing on a second run and says the cluster is already running', async () => {
    expect((await h.run(['setup'])).exitCode).toBe(0);
    await h.clearCalls();
    const requestsBefore = h.api.requests.length;
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(mutatingK3dCalls(await h.calls())).toEqual([]);
    expect(r.stderr).toMatch(/cluster keystone-cluster \(skipped: already running \(2 servers, 3 agents\)\)/);
    // No creates, deletes or pod churn: reads, and one apply PATCH per object.
    const made = h.api.requests.slice(requestsBefore);
    expect(made.filter((q) => q.method === 'DELETE' || q.method === 'PUT')).toEqual([]);
    expect(made.filter((q) => q.method === 'POST').map((q) => q.path)).toEqual(['/api/v1/namespaces/keystone/secrets']);
  });

  it('starts a stopped cluster instead of creating it', async () => {
    expect((await h.run(['setup'])).exitCode).toBe(0);
    expect((await h.run(['stop'])).exitCode).toBe(0);
    await h.clearCalls();
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(mutatingK3dCalls(await h.calls())).toEqual([['k3d', 'cluster', 'start', 'keystone-cluster', '--wait']]);
    expect(r.stderr).toContain('started cluster keystone-cluster');
    expect(r.stderr).toContain('5/5 nodes Ready');
  }, 90_000); // three setups with fake tools: slow on a shared machine, bounded, not timed

  it("never switches the user's current kubectl context", async () => {
    await h.run(['setup']);
    const kubeconfig = parse(await readFile(h.kubeconfig, 'utf8'));
    expect(kubeconfig.contexts.map((c: { name: string }) => c.name)).toContain('k3d-keystone-cluster');
    expect(kubeconfig['current-context']).toBeFalsy();
  });

  it('--dry-run prints the k3d calls it would make and changes nothing', async () => {
    await rm(join(h.project, 'data'), { recursive: true });
    const r = await h.run(['setup', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[dry-run\] would run: k3d cluster create --config \S+/);
    expect(r.stderr).toContain('Dry run: nothing was changed.');
    expect(mutatingK3dCalls(await h.calls())).toEqual([]);
    expect(h.api.objects('nodes')).toHaveLength(0);
    expect(existsSync(join(h.project, 'data', 'lammps'))).toBe(false);
  });
});

describe('setup stops early and clearly', () => {
  it('when Docker is down: says so with a fix, exits 1, and never calls k3d', async () => {
    h = await createHarness({ state: { docker: { down: true } } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error: Docker is not running or not reachable: Cannot connect to the Docker daemon');
    expect(r.stderr).toMatch(/hint: start Docker/);
    expect(await h.calls('k3d')).toEqual([]);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
  });

  it('when kubectl is too old', async () => {
    h = await createHarness({ state: { kubectl: { version: 'v1.25.3' } } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('kubectl 1.25.3 is too old; keystone needs kubectl >= 1.27.0');
  });

  it('when k3d is too old', async () => {
    h = await createHarness({ state: { k3d: { version: 'v5.4.6' } } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('k3d 5.4.6 is too old; keystone needs k3d >= 5.8.0');
    expect(mutatingK3dCalls(await h.calls())).toEqual([]);
  });

  it('when k3d prints a version keystone cannot read', async () => {
    h = await createHarness({ state: { k3d: { versionOutput: 'something else entirely\n' } } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('could not read k3d\'s version from its output: "something else entirely"');
  });

  it('when a host port is taken: names it before calling k3d create', async () => {
    h = await createHarness();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(h.ports[0], '0.0.0.0', resolve));
    try {
      const r = await h.run(['setup']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`host port ${h.ports[0]} already in use`);
      expect(r.stderr).toMatch(/hint: stop what holds it/);
      expect(mutatingK3dCalls(await h.calls())).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it("when k3d create fails: shows k3d's own error line and confirms nothing was left behind", async () => {
    h = await createHarness();
    await h.setState({ docker: { allocatedPorts: [h.ports[1]] } });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Bind for 0.0.0.0:${h.ports[1]} failed: port is already allocated`);
    expect(r.stderr).toContain('k3d rolled it back; nothing was left behind');
    expect(r.stderr).not.toContain('Rolling Back'); // the cause, not the rollback chatter
    expect(r.stderr).toMatch(/not done: .*nodes Ready/);
    expect((await h.state()).clusters).toEqual({});
  });

  it('when k3d create fails and leaves a partial cluster: says so and how to remove it', async () => {
    h = await createHarness({
      state: { k3d: { failCreate: 'Failed to start node: out of disk space', leaveCreateBehind: true } },
    });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('out of disk space');
    expect(r.stderr).toContain('k3d left a partial cluster behind');
    expect(r.stderr).toContain('keystone delete');
  });

  it('when the existing cluster has another shape: stops with the difference and never deletes it', async () => {
    h = await createHarness({
      state: { clusters: { 'keystone-cluster': { servers: 2, agents: 1, serversRunning: 2, agentsRunning: 1 } } },
    });
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'cluster "keystone-cluster" has 2 servers and 1 agent, but the config asks for 2 servers and 3 agents',
    );
    expect(r.stderr).toContain('`keystone delete` then `keystone setup`');
    expect(mutatingK3dCalls(await h.calls())).toEqual([]);
  });

  it('gives a config error with file, line and column, exit 2', async () => {
    h = await createHarness();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      h.configPath,
      'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: keystone-cluster\nservers: 0\n',
    );
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('k3d-cluster-config.yaml:5:10: servers: must be at least 1');
    expect(await h.calls()).toEqual([]);
  });
});

describe('Ctrl-C during setup', () => {
  it('stops the running k3d call, says what was done and what was not, exits 130; the next setup resumes', async () => {
    h = await createHarness({ state: { k3d: { createDelayMs: 20_000 } } });
    const child = h.spawn(['setup']);
    // Wait until k3d cluster create is running, then interrupt.
    for (let i = 0; i < 200 && !(await h.calls('k3d')).some((c) => c[2] === 'create'); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toContain('Interrupted: stopping');
    expect(String(r.stderr)).toMatch(
      /done: Docker is running, kubectl is installed, k3d is installed, pre-checks, data directories/,
    );
    expect(String(r.stderr)).toMatch(
      /not done: cluster keystone-cluster, kubeconfig context k3d-keystone-cluster, nodes Ready, images, .*stack ready \(run the command again to resume\)/,
    );
    expect(String(r.stderr)).not.toMatch(/\n\s+at /);

    await h.setState({});
    const again = await h.run(['setup']);
    expect(again.exitCode, again.stderr).toBe(0);
  });
});
