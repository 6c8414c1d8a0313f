// Issue 22: the promises that hold for every command (src/main.ts's Ctrl-C, src/ui/output-sink.ts,
// src/guarded-fs.ts), shown here where a command has more to say than the sweeps check
// (test/cli/sweep-*.test.ts): what was done and what was not, and nothing left half-done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, repoRoot, runJobsOf, until, type Harness } from '../helpers/harness.js';
import { stackTrace } from '../helpers/command-sweep.js';

let h: Harness;
beforeAll(async () => {
  h = await createReadyHarness();
}, 120_000);
afterAll(async () => h?.cleanup());

const runDirs = async (tool: string) => {
  const dir = join(h.project, 'data', tool, 'runs');
  return existsSync(dir) ? (await readdir(dir)).sort() : [];
};

/** test/fakes/fs-faults.cjs holding the nth matching fs.promises call open, in a real keystone process. */
async function fsHold(spec: string) {
  const dir = await mkdtemp(join(h.root, 'fs-hold-'));
  return {
    env: {
      NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'fakes', 'fs-faults.cjs')}`,
      KEYSTONE_FS_HOLD: spec,
      KEYSTONE_FS_HOLD_DIR: dir,
    },
    reached: () => until(() => existsSync(join(dir, 'held')), `fs call ${spec} to be held`),
    release: () => writeFile(join(dir, 'release'), ''),
  };
}

describe('Ctrl-C during run-simulation (#1)', () => {
  it('while the input is staged: exit 130 at once, nothing submitted, the half-made run directory removed and said so; the next run works', async () => {
    const before = await runDirs('openfoam');
    const jobsBefore = runJobsOf(h).length;
    // The cavity case is a directory of files: hold the copy of its second file.
    const hold = await fsHold('copyFile:/openfoam/cavity/:2');
    const child = h.spawn(['run-simulation', 'openfoam', 'cavity', '--cancel-on-interrupt'], { env: hold.env });
    await hold.reached();
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.kill('SIGINT');
    // A file copy in progress finishes (it takes milliseconds on a disk); the copy stops at the next file.
    await until(() => stderr.includes('Interrupted: stopping'), 'keystone to take the interrupt');
    await hold.release();
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stderr)).toMatch(
      /interrupted while staging the input: nothing was submitted, and the half-made data\/openfoam\/runs\/\S+ was removed/,
    );
    expect(String(r.stderr)).not.toMatch(stackTrace);
    expect(String(r.stderr)).not.toContain('Submitted');
    expect(await runDirs('openfoam')).toEqual(before);
    expect(runJobsOf(h)).toHaveLength(jobsBefore);

    const again = await h.run(['run-simulation', 'openfoam', 'cavity', '--progress', 'none']);
    expect(again.exitCode, again.stderr).toBe(0);
  });

  it('after the run ended but before keystone saw it: says it had ended, and --cancel-on-interrupt cancels nothing (it stays listed)', async () => {
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    // Hold keystone's read of the pod's log: the run ends meanwhile, unseen.
    const held = h.api.holdRequest(1, (r: { path: string }) => r.path.endsWith('/log'));
    const child = h.spawn(['run-simulation', 'lammps', 'in.lj', '--cancel-on-interrupt', '--progress', 'none']);
    await held.reached;
    await until(
      () =>
        runJobsOf(h).some((j) =>
          j.status?.conditions?.some(
            (c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True',
          ),
        ),
      'the run to complete',
    );
    child.kill('SIGINT');
    const r = await child;
    held.release();
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(
      /Run \S+ had already succeeded \(exit code 0\); nothing was cancelled\. Output: data\/lammps\/runs\//,
    );
    expect(String(r.stderr)).not.toMatch(/Cancelled run|keeps going/);
    const id = /Submitted run (\S+)/.exec(String(r.stderr))![1]!;
    const jobs = await h.run(['jobs', '-o', 'json']);
    expect(JSON.parse(jobs.stdout).map((j: { runId: string }) => j.runId)).toContain(id);
  });

  /**
   * The case above, when keystone's read of the run after Ctrl-C fails (refused, the API gone) or
   * gets no answer within Ctrl-C's grace for cleanups (a loaded machine): it does not know the
   * run is still going, so it must not cancel it. Both made certain by the fake API server, never
   * by timing: a fault that answers the read with an error, a hold that never answers it.
   */
  it.each([
    ['answered with an error', 'fault'],
    ['not answered in time', 'hold'],
  ] as const)('… and the read of the run after Ctrl-C %s: nothing is cancelled, and it says so', async (_what, how) => {
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    const held = h.api.holdRequest(1, (r: { path: string }) => r.path.endsWith('/log'));
    const child = h.spawn(['run-simulation', 'lammps', 'in.lj', '--cancel-on-interrupt', '--progress', 'none']);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await held.reached;
    await until(() => /Submitted run \S+/.test(stderr), 'the run to be submitted');
    const id = /Submitted run (\S+)/.exec(stderr)![1]!;
    const job = () => runJobsOf(h).find((j) => j.metadata.labels['keystone.io/run-id'] === id);
    const complete = () =>
      job()?.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True',
      ) === true;
    await until(complete, 'the run to complete');
    const readOfRun = (r: { method: string; path: string }) =>
      r.method === 'GET' && r.path === `/apis/batch/v1/namespaces/keystone/jobs/${job()!.metadata.name}`;
    // A refusal is not retried (a 5xx would be, until the grace runs out: the hold's case).
    const refused = 'jobs.batch is forbidden: User "keystone" cannot get resource "jobs" in the namespace "keystone"';
    const fault = {
      match: readOfRun,
      status: 403,
      times: 1,
      body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: refused, reason: 'Forbidden', code: 403 },
    };
    const readHeld = how === 'hold' ? h.api.holdRequest(1, readOfRun) : undefined;
    if (how === 'fault') h.api.faults.push(fault);
    try {
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode, String(r.stderr)).toBe(130);
      expect(String(r.stderr)).toContain(
        how === 'fault'
          ? `warning: could not read run ${id}'s state (${refused}); not cancelled, see \`keystone jobs\``
          : `warning: could not read run ${id}'s state (no answer from the API in time after Ctrl-C); not cancelled`,
      );
      expect(String(r.stderr)).not.toMatch(/Cancelled run|keeps going/);
      expect(String(r.stderr)).not.toMatch(stackTrace);
      // Never deleted: still there, complete, and listed.
      expect(complete()).toBe(true);
      expect(
        h.api.requests.some((q) => q.method === 'DELETE' && q.path.includes(`/jobs/${job()!.metadata.name}`)),
      ).toBe(false);
    } finally {
      readHeld?.release();
      held.release();
      fault.times = 0;
    }
    const jobs = await h.run(['jobs', '-o', 'json']);
    expect(JSON.parse(jobs.stdout).find((j: { runId: string }) => j.runId === id)?.state).toBe('Succeeded');
  });
});

describe('Ctrl-C during jobs clean --purge-outputs (#2)', () => {
  it('stops after the run in hand, keeps the rest, says what was and was not deleted, exit 130', async () => {
    await h.run(['jobs', 'clean', '--tool', 'fenicsx', '--purge-outputs']);
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--progress', 'none']);
      ids.push(/Submitted run (\S+)/.exec(r.stderr)![1]!);
    }
    // Ctrl-C while the first run's Job is being deleted (its outputs are already gone).
    const held = h.api.holdRequest(
      1,
      (r: { method: string; path: string }) => r.method === 'DELETE' && r.path.includes('/jobs/fenicsx-'),
    );
    const interrupt = held.reached.then(() => setImmediate(() => held.release()));
    const r = await h.run(['jobs', 'clean', '--tool', 'fenicsx', '--purge-outputs'], { interrupt });
    expect(r.exitCode, r.stderr).toBe(130);
    const listed = (await h.run(['jobs', '--tool', 'fenicsx', '-o', 'json'])).stdout;
    const left = (JSON.parse(listed || '[]') as { runId: string }[]).map((j) => j.runId);
    expect(left).toHaveLength(2);
    const gone = ids.find((id) => !left.includes(id))!;
    expect(r.stderr).toContain(`deleted run ${gone} (fenicsx, succeeded); removed data/fenicsx/runs/${gone}`);
    expect(r.stderr).toMatch(
      new RegExp(
        `error: interrupted: deleted 1 run \\(${gone}\\); not deleted: ${left.map((id) => `(?=.*${id})`).join('')}`,
      ),
    );
    expect(r.stderr).toContain(
      'hint: the runs not deleted are still listed by `keystone jobs`, outputs and all; run the command again to delete them',
    );
    expect(await runDirs('fenicsx')).toEqual([...left].sort());

    const again = await h.run(['jobs', 'clean', '--tool', 'fenicsx', '--purge-outputs']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await runDirs('fenicsx')).toEqual([]);
  });
});

describe('a symlinked data/<tool>/runs leads nothing out of data/ (#5)', () => {
  it('staging refuses to write through it (nothing submitted, nothing written there), and --purge-outputs refuses to delete through it', async () => {
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    const made = await h.run(['run-simulation', 'lammps', 'in.lj', '--progress', 'none']);
    const id = /Submitted run (\S+)/.exec(made.stderr)![1]!;
    // The user moves the runs elsewhere and links them back.
    const elsewhere = join(h.root, 'elsewhere-runs');
    const runs = join(h.project, 'data', 'lammps', 'runs');
    await rename(runs, elsewhere);
    await symlink(elsewhere, runs);
    const there = (await readdir(elsewhere)).sort();
    expect(there).toContain(id);
    try {
      const jobsBefore = runJobsOf(h).length;
      const r = await h.run(['run-simulation', 'lammps', 'in.lj']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        /error: could not stage|error: data\/lammps\/runs\/\S+ is outside data \(data\/lammps\/runs leads to .*elsewhere-runs\)/,
      );
      expect(r.stderr).toContain(
        'hint: keystone writes and deletes only inside data; replace the symlink with a directory',
      );
      expect((await readdir(elsewhere)).sort()).toEqual(there);
      expect(runJobsOf(h)).toHaveLength(jobsBefore);

      const clean = await h.run(['jobs', 'clean', '--tool', 'lammps', '--purge-outputs']);
      expect(clean.exitCode).toBe(1);
      expect(clean.stderr).toContain(
        `warning: kept run ${id} (its Job and outputs): data/lammps/runs/${id} is outside data`,
      );
      expect((await readdir(elsewhere)).sort()).toEqual(there);
      expect(await readdir(join(elsewhere, id))).toContain('in.lj');
    } finally {
      await rm(runs);
      await rename(elsewhere, runs);
    }
  });

  it('the run record is written through the guarded data directory too: the end of a run is never written through the link', async () => {
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    // Detached: the record is written at submission, its end only when keystone next looks.
    const made = await h.run(['run-simulation', 'lammps', 'in.lj', '-d']);
    expect(made.exitCode, made.stderr).toBe(0);
    const id = made.stdout.trim();
    await until(
      () =>
        runJobsOf(h).some(
          (j) =>
            j.metadata.labels['keystone.io/run-id'] === id &&
            j.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Complete'),
        ),
      'the run to complete',
    );
    const elsewhere = join(h.root, 'elsewhere-runs-2');
    const runs = join(h.project, 'data', 'lammps', 'runs');
    await rename(runs, elsewhere);
    await symlink(elsewhere, runs);
    const record = join(elsewhere, id, 'run-record.json');
    const before = await readFile(record, 'utf8');
    expect(JSON.parse(before).outcome?.ended).toBeUndefined();
    try {
      const shown = await h.run(['jobs', 'show', id]);
      // Still shown (the cluster has the end), and it says why the file was not updated.
      expect(shown.exitCode, shown.stderr).toBe(0);
      expect(shown.stderr).toContain(
        `warning: could not write the run's end into data/lammps/runs/${id}/run-record.json: data/lammps/runs/${id}/run-record.json is outside data (data/lammps/runs leads to ${elsewhere})`,
      );
      expect(await readFile(record, 'utf8')).toBe(before);
      expect((await readdir(join(elsewhere, id))).filter((f) => f.includes('keystone-part'))).toEqual([]);
    } finally {
      await rm(runs);
      await rename(elsewhere, runs);
    }
    // Back inside data/, the same command writes it.
    const again = await h.run(['jobs', 'show', id]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('could not write');
    expect(JSON.parse(await readFile(join(runs, id, 'run-record.json'), 'utf8')).outcome.ended).toBe('succeeded');
  });
});

describe('destructive commands ask on a terminal; rollback, scale and restart have --dry-run (#7)', () => {
  const patches = () =>
    h.api.requests.filter(
      (q: { method: string }) => q.method === 'PATCH' || q.method === 'POST' || q.method === 'DELETE',
    ).length;

  it('scale, restart and rollback --dry-run say what they would do and send no change', async () => {
    const before = patches();
    const scale = await h.run(['scale', 'celery-worker', '3', '--dry-run']);
    expect(scale.exitCode, scale.stderr).toBe(0);
    expect(scale.stderr).toMatch(
      /would scale celery-worker from \d+ to 3 replicas and wait for the pods; dry run: nothing was changed/,
    );
    const restart = await h.run(['restart', 'all', '--dry-run']);
    expect(restart.exitCode, restart.stderr).toBe(0);
    expect(restart.stderr).toContain(
      'would restart celery-worker, redis (new pods, as `kubectl rollout restart`) and wait for them; dry run: nothing was changed',
    );
    expect((await h.run(['restart', 'celery-worker'])).exitCode).toBe(0); // a second revision to roll back to
    const after = patches();
    const rollback = await h.run(['rollback', 'celery-worker', '--dry-run']);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.stderr).toMatch(
      /would roll celery-worker back to revision 1 \(from revision 2\); dry run: nothing was changed/,
    );
    const bad = await h.run(['rollback', 'celery-worker', '--to-revision', '9', '--dry-run']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('has no revision 9');
    expect(patches()).toBe(after);
    expect(after - before).toBeGreaterThan(0); // only the real restart changed anything
    expect((await h.run(['scale', 'nope', '1', '--dry-run'])).exitCode).toBe(1);
  });

  it('jobs clean --purge-outputs asks on a terminal: "n" deletes nothing, --yes does not ask; without a terminal it does not ask', async () => {
    h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
    await h.run(['jobs', 'clean', '--tool', 'fenicsx', '--purge-outputs']);
    const made = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--progress', 'none']);
    const id = /Submitted run (\S+)/.exec(made.stderr)![1]!;
    const no = await h.run(['jobs', 'clean', '--tool', 'fenicsx', '--purge-outputs'], {
      tty: { stdin: true },
      stdin: 'n\n',
    });
    expect(no.exitCode).toBe(1);
    expect(no.stderr).toContain('Delete this run and its outputs? [y/N] ');
    expect(no.stderr).toContain('error: nothing was deleted (not confirmed)');
    expect(await runDirs('fenicsx')).toEqual([id]);
    const yes = await h.run(['jobs', 'clean', '--tool', 'fenicsx', '--purge-outputs', '--yes'], {
      tty: { stdin: true },
    });
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(yes.stderr).not.toContain('[y/N]');
    expect(await runDirs('fenicsx')).toEqual([]);
    // Not a terminal (a script): as before, no question.
    await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--progress', 'none']);
    const script = await h.run(['jobs', 'clean', '--tool', 'fenicsx', '--purge-outputs']);
    expect(script.exitCode, script.stderr).toBe(0);
    expect(script.stderr).not.toContain('[y/N]');
  });

  // Last: it deletes the cluster.
  it('delete asks on a terminal: "n" (or no answer) keeps the cluster, "y" deletes it', async () => {
    const deletes = async () => (await h.calls('k3d')).filter((c) => c[1] === 'cluster' && c[2] === 'delete').length;
    const no = await h.run(['delete'], { tty: { stdin: true }, stdin: 'n\n' });
    expect(no.exitCode).toBe(1);
    expect(no.stderr).toContain('Delete cluster keystone-cluster and its volumes (the Redis data with them)?');
    expect(no.stderr).toContain('error: cluster keystone-cluster was not deleted (not confirmed)');
    const silent = await h.run(['delete'], { tty: { stdin: true } });
    expect(silent.exitCode).toBe(1);
    expect(await deletes()).toBe(0);
    const dry = await h.run(['delete', '--dry-run'], { tty: { stdin: true } });
    expect(dry.stderr).not.toContain('[y/N]');
    const yes = await h.run(['delete'], { tty: { stdin: true }, stdin: 'y\n' });
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(await deletes()).toBe(1);
  });
});
