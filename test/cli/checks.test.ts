// Issue 22 #9–#11: checks that say what is true. status reports Docker down as a state (exit 0,
// .healthy false) and every command that calls docker or k3d names the cause and the cure;
// doctor checks that the API answers; setup's pre-checks refuse a kubeconfig that is not YAML
// before the cluster is created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { createHarness, createReadyHarness, freePort, type Harness } from '../helpers/harness.js';
import { kubeconfigFor } from '../fakes/kube-api-server.mjs';

let h: Harness;
beforeAll(async () => {
  h = await createReadyHarness();
}, 120_000);
afterAll(async () => h?.cleanup());

describe('Docker down (#9)', () => {
  it('status reports it and exits 0 (.healthy false); start, stop, delete and import-images say Docker is not running, with what to do', async () => {
    const before = await h.state();
    // Docker down: the fakes' docker and k3d cannot reach the daemon, and the cluster's API (in
    // k3d's containers) refuses connections, as on a machine whose Docker stopped.
    await h.setState({ ...before, docker: { ...before.docker, down: true } });
    await fetch(`${h.api.url}/__fake/down`, { method: 'POST' });
    try {
      const status = await h.run(['status', '-o', 'json']);
      expect(status.exitCode, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout);
      expect(report.healthy).toBe(false);
      expect(report.verdict).toBe('Not healthy: Docker is not running; start it, then `keystone start`.');
      const table = await h.run(['status']);
      expect(table.exitCode).toBe(0);
      expect(table.stdout).toContain('Docker is not running');
      for (const args of [['start'], ['stop'], ['delete', '--yes'], ['import-images']]) {
        const r = await h.run(args);
        expect(r.exitCode, args.join(' ')).toBe(1);
        expect(r.stderr, args.join(' ')).toMatch(
          /error: (k3d|docker) [a-z ]+failed: Docker is not running \(cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker\.sock\)/,
        );
        expect(r.stderr, args.join(' ')).toContain(
          'hint: start Docker (Docker Desktop, or `sudo systemctl start docker` on Linux) and run the command again',
        );
      }
    } finally {
      await h.setState(before);
      await fetch(`${h.api.url}/__fake/up`, { method: 'POST' });
    }
  });
});

describe('doctor checks the API answers (#10)', () => {
  it('a context whose server does not answer fails the "kubernetes API" check (exit 1); a working one passes it', async () => {
    const good = await h.run(['doctor', '-o', 'json']);
    const api = JSON.parse(good.stdout).checks.find((c: { name: string }) => c.name === 'kubernetes API');
    expect(api).toMatchObject({ status: 'ok' });
    const file = join(h.home, 'dead.yaml');
    await writeFile(file, stringify(kubeconfigFor(`http://127.0.0.1:${await freePort()}`, 'dead')), { mode: 0o600 });
    const r = await h.run(['doctor', '--context', 'dead', '--kubeconfig', file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).not.toContain('All checks passed');
    expect(r.stdout).toMatch(
      /kubernetes API.*cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(context dead\): connection refused/,
    );
  });
});

describe("setup's pre-checks read the kubeconfig (#11)", () => {
  it('a kubeconfig that is not valid YAML fails the pre-checks, before the cluster is created', async () => {
    const fresh = await createHarness();
    try {
      await mkdir(dirname(fresh.kubeconfig), { recursive: true });
      await writeFile(fresh.kubeconfig, 'apiVersion: v1\nclusters: [\n  - name: x\n', { mode: 0o600 });
      const r = await fresh.run(['setup']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/error: .*config:\d+:\d+ is not valid YAML/);
      expect((await fresh.calls('k3d')).some((c) => c[1] === 'cluster' && c[2] === 'create')).toBe(false);
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('options that are refused or honoured, never ignored (#13)', () => {
  it('jobs plot refuses -o, --all and --tool (exit 2); events, describe, top and rollback --list take -o yaml; `help bogus` is a usage error', async () => {
    for (const flags of [['-o', 'json'], ['--all'], ['--tool', 'lammps']]) {
      const r = await h.run(['jobs', ...flags, 'plot', '20261125-214700-a3f9']);
      expect(r.exitCode, flags.join(' ')).toBe(2);
      expect(r.stderr, flags.join(' ')).toMatch(/error: --\S+ does not apply to `keystone jobs plot`/);
    }
    const { parse } = await import('yaml');
    for (const args of [
      ['events', '-o', 'yaml'],
      ['describe', 'redis', '-o', 'yaml'],
      ['rollback', 'celery-worker', '--list', '-o', 'yaml'],
    ]) {
      const r = await h.run(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(() => parse(r.stdout), args.join(' ')).not.toThrow();
      expect(r.stdout.trimStart().startsWith('{') || r.stdout.trimStart().startsWith('['), args.join(' ')).toBe(false);
    }
    const nodes = h.api.objects('nodes').map((n: { metadata: { name: string } }) => n.metadata.name);
    h.api.metrics = {
      nodes: Object.fromEntries(nodes.map((n: string) => [n, { cpu: '250m', memory: '512Mi' }])),
      pods: {},
    };
    const top = await h.run(['top', '-o', 'yaml']);
    expect(top.exitCode, top.stderr).toBe(0);
    expect(parse(top.stdout).nodes).toHaveLength(nodes.length);
    const help = await h.run(['help', 'bogus']);
    expect(help.exitCode).toBe(2);
    expect(help.stderr).toContain("error: unknown command 'bogus'");
    expect(help.stdout).toBe('');
    expect((await h.run(['help', 'jobs', 'logs'])).exitCode).toBe(0);
  });
});
