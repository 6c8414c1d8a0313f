// Faults not covered elsewhere, part two: API faults, processes, bad input and files, security
// (part one: reliability.test.ts). Each test is a row of docs/reliability.md.
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, rm, stat, writeFile, chmod, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHarness, createReadyHarness, fastClock, sleep, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.cleanup());

const ready = () => createReadyHarness();

describe('API faults', () => {
  it('503 and 429 on reads are retried; a persistent 500 fails after a bounded number of tries', async () => {
    h = await ready();
    h.api.faults.push(
      { match: (q: { path: string }) => q.path.endsWith('/pods'), status: 503, times: 1 },
      { match: (q: { path: string }) => q.path.endsWith('/pods'), status: 429, times: 1 },
    );
    // The backoff between tries on a clock that skips it (the faults come from the fake, not time).
    let r = await h.run(['pods', '-o', 'json'], { clock: fastClock() });
    expect(r.exitCode, r.stderr).toBe(0);
    h.api.faults.push({ match: (q: { path: string }) => q.path.endsWith('/pods'), status: 500, times: 100 });
    const before = h.api.requests.length;
    r = await h.run(['pods'], { clock: fastClock() });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error: injected 500');
    expect(h.api.requests.length - before).toBe(4); // the first try and three retries
  });

  it('apply patches are retried on 503', async () => {
    h = await ready();
    const patchesOf = async () => {
      const before = h.api.requests.length;
      const r = await h.run(['apply']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain('applied 9 objects');
      expect(r.stderr).not.toContain('error');
      return h.api.requests.slice(before).filter((q) => q.method === 'PATCH').length;
    };
    const clean = await patchesOf();
    const fault = { match: (q: { method: string }) => q.method === 'PATCH', status: 503, times: 2 };
    h.api.faults.push(fault);
    // Both 503s were answered, and each refused patch was sent again.
    expect(await patchesOf()).toBe(clean + 2);
    expect(fault.times).toBe(0);
  });

  it('a create is never retried blindly: a failed Job submission is reported, not repeated', async () => {
    h = await ready();
    h.api.faults.push({
      match: (q: { method: string; path: string }) => q.method === 'POST' && q.path.endsWith('/jobs'),
      status: 503,
      times: 1,
    });
    const before = h.api.requests.length;
    const r = await h.run(['run-simulation', 'lammps', 'in.lj']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('could not submit the run: injected 503');
    expect(h.api.requests.slice(before).filter((q) => q.method === 'POST')).toHaveLength(1);
    expect(await readdir(join(h.project, 'data', 'lammps', 'runs'))).toEqual([]); // the staged input was removed
  });

  it('the API unreachable: says so with what to do', async () => {
    h = await ready();
    await fetch(`${h.api.url}/__fake/down`, { method: 'POST' });
    const r = await h.run(['pods']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /error: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(context k3d-keystone-cluster\)/,
    );
    expect(r.stderr).toContain('hint: is the cluster running? try `keystone status`, then `keystone start`');
  });

  it('a slow API: --timeout still ends a wait on time', async () => {
    h = await ready();
    h.cluster.podStartDelayMs = 60_000;
    h.api.faults.push({ match: () => true, delayMs: 300, times: 1000 });
    const started = Date.now();
    const r = await h.run(['scale', 'celery-worker', '3', '--timeout', '3s']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/timed out after 3s waiting for the deployments to be ready/);
    expect(Date.now() - started).toBeLessThan(25_000); // the pods would take a minute: only waiting for them exceeds this, not load
  });
});

describe('process', () => {
  it('two setups at once: the second waits, then says who holds the lock; a stale lock is taken over', async () => {
    h = await createHarness({ state: { k3d: { createDelayMs: 15_000 } } });
    const first = h.spawn(['setup']);
    // Until the first holds the lock and is inside k3d create (a process start can take seconds under load).
    for (let i = 0; i < 1000 && !(await h.calls('k3d')).some((c) => c[2] === 'create'); i++) await sleep(25);
    expect((await h.calls('k3d')).some((c) => c[2] === 'create')).toBe(true);
    // Its 5 s wait for the lock on a clock that skips it: the first holds the lock for 15 s.
    const second = await h.run(['setup'], { clock: fastClock() });
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain('Waiting for `keystone setup` (pid');
    expect(second.stderr).toMatch(/error: another `keystone setup` is running \(pid \d+, started /);
    first.kill('SIGINT');
    await first;

    const locks = join(h.env.KEYSTONE_HOME!, 'locks');
    await mkdir(locks, { recursive: true });
    await writeFile(
      join(locks, 'keystone-cluster.lock'),
      JSON.stringify({
        pid: 999_999,
        host: (await import('node:os')).hostname(),
        command: 'delete',
        startedAt: '2026-01-01T00:00:00Z',
      }),
    );
    await h.setState({});
    const r = await h.run(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(locks, 'keystone-cluster.lock'))).toBe(false); // released at the end
  }, 60_000);

  it('a run past its --timeout is stopped by the cluster and exits 124', async () => {
    h = await ready();
    h.cluster.program = () => ({ lines: ['still going'], exitCode: null });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--timeout', '1s']);
    expect(r.exitCode).toBe(124);
    expect(r.stderr).toMatch(/failed \(DeadlineExceeded\) with exit code 124: the run went past its --timeout/);
  });
});

describe('bad input and files', () => {
  it('an input name that was not valid UTF-8 (Node hands it over as U+FFFD) is refused', async () => {
    h = await ready();
    const r = await h.run(['run-simulation', 'lammps', 'in\ufffd.lj']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is not valid UTF-8');
  });

  it('staged inputs are not writable by other users, whatever the source mode', async () => {
    h = await ready();
    const source = join(h.project, 'data', 'lammps', 'open.lj');
    await writeFile(source, 'run 0\n');
    await chmod(source, 0o666);
    const r = await h.run(['run-simulation', 'lammps', 'open.lj']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [runId] = await readdir(join(h.project, 'data', 'lammps', 'runs'));
    const dir = join(h.project, 'data', 'lammps', 'runs', runId!);
    expect((await stat(dir)).mode & 0o022).toBe(0);
    expect((await stat(join(dir, 'open.lj'))).mode & 0o022).toBe(0);
  });

  it('a cluster config whose port is taken on the host, or with duplicate ports, stops before k3d', async () => {
    h = await createHarness();
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(h.configPath, 'utf8');
    await writeFile(h.configPath, text.replace(`${h.ports[1]}:443`, `${h.ports[0]}:443`));
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/ports\.1\.port: host port \d+ is already used by ports\[0\]/);
    expect(await h.calls('k3d')).toEqual([]);
    await rm(h.configPath);
    const gone = await h.run(['status']);
    expect(gone.exitCode).toBe(2);
    expect(gone.stderr).toContain('cannot read cluster config');
  });
});

describe('security', () => {
  it('no process call in src/ uses a shell', async () => {
    const { readFile } = await import('node:fs/promises');
    const files: string[] = [];
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(dir, e.name));
        else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
      }
    };
    await walk(join(import.meta.dirname, '..', '..', 'src'));
    expect(files.length).toBeGreaterThan(30);
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.toMatch(/shell:\s*true/);
      // Every process goes through the execa runner with argv arrays: no child_process, no shell.
      expect(text, file).not.toMatch(/from ['"](node:)?child_process['"]/);
    }
    expect(await readFile(join(import.meta.dirname, '..', '..', 'src', 'exec', 'runner.ts'), 'utf8')).toContain(
      'shell: false',
    );
  });
});
