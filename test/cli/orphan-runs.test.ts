// Issue 22 #6: run directories without a run (cancelled before it could start, or cleaned without
// --purge-outputs) are seen and removable: `keystone jobs` says how many there are, `jobs
// --orphans` lists them, `jobs clean --orphans` removes them (asking on a terminal, stopping after
// the directory in hand on Ctrl-C), and never one whose run is still in the context compared with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createReadyHarness, repoRoot, until, type Harness } from '../helpers/harness.js';
import { stackTrace } from '../helpers/command-sweep.js';
import { kubeconfigFor } from '../fakes/kube-api-server.mjs';
import { outputSchemas } from '../../src/output/schemas.js';

let h: Harness;
let lab: string[];
beforeAll(async () => {
  h = await createReadyHarness();
  const file = join(h.home, 'lab.yaml');
  await writeFile(file, stringify(kubeconfigFor(h.api.url, 'lab')), { mode: 0o600 });
  lab = ['--context', 'lab', '--kubeconfig', file];
  h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
}, 120_000);
afterAll(async () => h?.cleanup());

const runsDir = (tool: string) => join(h.project, 'data', tool, 'runs');
const runDirs = async (tool: string) => (existsSync(runsDir(tool)) ? (await readdir(runsDir(tool))).sort() : []);
const submitted = (r: { stderr: string; stdout: string }) =>
  /Submitted run (\S+)/.exec(r.stderr)?.[1] ?? r.stdout.trim();

describe('run directories without a run (#6)', () => {
  it("are counted under `keystone jobs`, listed by `jobs --orphans`, removed by `jobs clean --orphans`: never one with a run, nor another cluster's, nor one being staged", async () => {
    // 1. A run cancelled because its image cannot be pulled: its directory stays, and it says so.
    const pull = await h.run([
      'run-simulation',
      'lammps',
      'in.lj',
      '--image',
      `keystone/lammps:9.9@sha256:${'0'.repeat(64)}`,
    ]);
    expect(pull.exitCode).toBe(1);
    const cancelled = submitted(pull);
    expect(pull.stderr).toContain(
      `the run was cancelled (nothing ran); its run directory data/lammps/runs/${cancelled} stays (\`keystone jobs clean --orphans\` removes it)`,
    );
    // 2. A finished run cleaned without --purge-outputs; 3. a run that is still there.
    const cleaned = submitted(await h.run(['run-simulation', 'lammps', 'in.lj', '--progress', 'none']));
    expect((await h.run(['jobs', 'clean', '--tool', 'lammps'])).exitCode).toBe(0);
    const kept = submitted(await h.run(['run-simulation', 'lammps', 'in.lj', '--progress', 'none']));
    // 4. A directory from before run records (no record, made long ago); 5. one being staged now
    // (no record yet, its run id from this minute); 6. a run of another cluster, fetched here.
    const old = '20200101-000000-0a0a';
    await mkdir(join(runsDir('lammps'), old, 'out'), { recursive: true });
    await writeFile(join(runsDir('lammps'), old, 'out', 'log.lammps'), 'x'.repeat(2048));
    const iso = new Date().toISOString();
    const staging = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-0b0b`;
    await mkdir(join(runsDir('lammps'), staging));
    const remote = submitted(await h.run(['run-simulation', 'lammps', 'in.lj', '--progress', 'none', ...lab]));
    const fetched = await h.run(['jobs', 'fetch', remote, ...lab]);
    expect(fetched.exitCode, fetched.stderr).toBe(0);
    // A directory keystone did not name (not a run id) is never its business.
    await mkdir(join(runsDir('lammps'), 'my-notes'));
    const orphans = [cancelled, cleaned, old].sort();

    // `keystone jobs` says how many, in which context, and what to do.
    const list = await h.run(['jobs']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stderr).toContain(
      '3 run directories in data have no run in context k3d-keystone-cluster (cancelled, or cleaned without --purge-outputs): `keystone jobs --orphans` lists them, `keystone jobs clean --orphans` removes them',
    );
    // ... only in its table form: -o json is the runs alone.
    expect((await h.run(['jobs', '-o', 'json'])).stderr).not.toContain('run directories');

    const table = await h.run(['jobs', '--orphans']);
    expect(table.exitCode, table.stderr).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^RUN ID\s+TOOL\s+SUBMITTED\s+SIZE\s+RECORD\s+DIRECTORY$/);
    expect(
      rows
        .slice(1)
        .map((r) => r.split(/\s+/)[0])
        .sort(),
    ).toEqual(orphans);
    expect(rows.find((r) => r.startsWith(old))).toMatch(
      /lammps\s+\S+ ago\s+2\.0 KiB\s+no\s+data\/lammps\/runs\/20200101-000000-0a0a$/,
    );
    expect(rows.find((r) => r.startsWith(cleaned))).toMatch(/\s+yes\s+data\/lammps\/runs\//);
    expect(table.stderr).toContain(
      '1 run directory belongs to runs of other clusters, not compared here: lab: 1 (--context lab)',
    );
    expect(table.stderr).toContain(
      `1 run directory without a run record made in the last hour left out (a run may be being submitted): ${staging}`,
    );
    const json = await h.run(['jobs', '--orphans', '-o', 'json']);
    const doc = JSON.parse(json.stdout);
    expect(outputSchemas.jobsOrphans.safeParse(doc).error?.issues ?? []).toEqual([]);
    expect(doc.context).toBe('k3d-keystone-cluster');
    expect(doc.orphans.map((o: { runId: string }) => o.runId).sort()).toEqual(orphans);
    expect(doc.otherClusters).toEqual([{ context: 'lab', directories: 1 }]);
    expect(doc.leftOut).toEqual([staging]);
    expect((await h.run(['jobs', '--orphans', '--all'])).exitCode).toBe(2);
    expect((await h.run(['jobs', 'clean', '--orphans', '--failed'])).exitCode).toBe(2);
    // As with --tool, --orphans means the same before or after `clean` (never the listing's, ignored).
    const before = await h.run(['jobs', '--orphans', 'clean', '--dry-run']);
    expect(before.stderr).toContain('Would remove 3 run directories without a run in context k3d-keystone-cluster:');

    // --dry-run names them and removes nothing; --older-than picks by submission time.
    const dry = await h.run(['jobs', 'clean', '--orphans', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('Would remove 3 run directories without a run in context k3d-keystone-cluster:');
    expect(dry.stderr).toContain(`  data/lammps/runs/${old} (lammps, submitted `);
    expect(dry.stderr).toContain('Dry run: nothing was removed.');
    const everything = [cancelled, cleaned, kept, old, staging, remote, 'my-notes'].sort();
    expect(await runDirs('lammps')).toEqual(everything);
    const older = await h.run(['jobs', 'clean', '--orphans', '--older-than', '365d', '--dry-run']);
    expect(older.stderr).toContain('Would remove 1 run directory without a run in context k3d-keystone-cluster:');

    // On a terminal it asks; "n" removes nothing.
    const no = await h.run(['jobs', 'clean', '--orphans'], { tty: { stdin: true }, stdin: 'n\n' });
    expect(no.exitCode).toBe(1);
    expect(no.stderr).toContain('Delete these 3 run directories and everything in them? [y/N] ');
    expect(no.stderr).toContain('error: nothing was removed (not confirmed)');
    expect(await runDirs('lammps')).toEqual(everything);

    // Not a terminal (a script): no question; exactly the three go.
    const clean = await h.run(['jobs', 'clean', '--orphans']);
    expect(clean.exitCode, clean.stderr).toBe(0);
    for (const id of orphans) expect(clean.stderr).toContain(`removed data/lammps/runs/${id}`);
    expect(clean.stderr).toContain('Removed 3 run directories.');
    expect(await runDirs('lammps')).toEqual([kept, staging, remote, 'my-notes'].sort());
    expect((await h.run(['jobs'])).stderr).not.toContain('no run in context');

    // Compared with the lab context: its run is still there, so nothing; once it is cleaned
    // there (outputs on its volume purged), the fetched copy here is lab's orphan, and says so.
    const labDry = await h.run(['jobs', 'clean', '--orphans', '--dry-run', ...lab]);
    expect(labDry.stderr).toContain('No run directories without a run in context lab to remove.');
    expect(labDry.stderr).toContain(
      '2 run directories belong to runs of other clusters, not compared here: k3d-keystone-cluster: 2 (without --context)',
    );
    expect((await h.run(['jobs', 'clean', '--tool', 'lammps', '--purge-outputs', ...lab])).exitCode).toBe(0);
    // (Both contexts reach the same fake API server: that clean removed the local lammps runs too, outputs and all.)
    const labList = await h.run(['jobs', '--orphans', ...lab]);
    expect(labList.stderr).toContain('1 run directory (');
    expect(labList.stderr).toContain(') without a run in context lab; `keystone jobs clean --orphans` removes them');
    const labDoc = JSON.parse((await h.run(['jobs', '--orphans', '-o', 'json', ...lab])).stdout);
    expect(labDoc.context).toBe('lab');
    expect(labDoc.orphans.map((o: { runId: string }) => o.runId)).toEqual([remote]);
  });

  it('Ctrl-C during jobs clean --orphans: stops after the directory in hand, says what was and was not removed, exit 130; the rest stay listed', async () => {
    const ids = ['20210101-000000-0c0c', '20210101-000000-0d0d', '20210101-000000-0e0e'];
    for (const id of ids) await mkdir(join(runsDir('fenicsx'), id, 'out'), { recursive: true });
    // Hold the removal of the second directory: Ctrl-C comes while it is under way.
    const dir = await mkdtemp(join(h.root, 'fs-hold-'));
    const child = h.spawn(['jobs', 'clean', '--orphans', '--tool', 'fenicsx'], {
      env: {
        NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'fakes', 'fs-faults.cjs')}`,
        KEYSTONE_FS_HOLD: `rm:/fenicsx/runs/${ids[1]}:1`,
        KEYSTONE_FS_HOLD_DIR: dir,
      },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => existsSync(join(dir, 'held')), 'the removal to be held');
    child.kill('SIGINT');
    await until(() => stderr.includes('Interrupted: stopping'), 'keystone to take the interrupt');
    await writeFile(join(dir, 'release'), '');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stderr)).toContain(
      `error: interrupted: removed 2 run directories (${ids[0]}, ${ids[1]}); not removed: ${ids[2]}`,
    );
    expect(String(r.stderr)).toContain('hint: `keystone jobs --orphans` still lists the ones not removed');
    expect(String(r.stderr)).not.toMatch(stackTrace);
    expect(await runDirs('fenicsx')).toEqual([ids[2]]);
    const again = await h.run(['jobs', 'clean', '--orphans', '--tool', 'fenicsx']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await runDirs('fenicsx')).toEqual([]);
  });
});
