// The Celery worker's summarize_run reads the runs' outputs: the worker must see them where the
// simulation Jobs write them, and the task must list them (run with the real python3).
import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse, parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const workerDir = join(root, 'images', 'celery-worker');

type Volume = { name: string; hostPath?: { path: string } };
type PodSpec = {
  volumes?: Volume[];
  containers: { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }[];
};

describe('celery worker: summarize_run', () => {
  it('mounts, read-only, the host directory the simulation Jobs write to, where the task reads', async () => {
    const dataRoot = /^DATA_ROOT = "([^"]+)"$/m.exec(
      await readFile(join(workerDir, 'keystone_worker', 'summary.py'), 'utf8'),
    )?.[1];
    expect(dataRoot).toBe('/data');
    const worker = parse(await readFile(join(root, 'k8s', 'manifests', '20-celery-worker.yaml'), 'utf8')) as {
      spec: { template: { spec: PodSpec } };
    };
    const pod = worker.spec.template.spec;
    const mount = pod.containers[0]!.volumeMounts?.find((m) => m.mountPath === dataRoot);
    expect(mount, 'no volume mounted where summarize_run reads').toBeDefined();
    expect(mount!.readOnly).toBe(true);
    const hostRoot = pod.volumes?.find((v) => v.name === mount!.name)?.hostPath?.path;
    expect(hostRoot).toBe('/data');
    // Every simulation template writes below that host directory, at the same path as the worker sees it.
    for (const file of ['30-fenicsx.yaml', '31-lammps.yaml', '32-openfoam.yaml']) {
      const [doc] = parseAllDocuments(await readFile(join(root, 'k8s', 'manifests', file), 'utf8'));
      const job = doc!.toJS() as { spec: { template: { spec: PodSpec } } };
      const vol = job.spec.template.spec.volumes!.find((v) => v.hostPath)!;
      const jobMount = job.spec.template.spec.containers[0]!.volumeMounts!.find((m) => m.name === vol.name)!;
      expect(vol.hostPath!.path.startsWith(`${hostRoot}/`), file).toBe(true);
      expect(jobMount.mountPath, file).toBe(`${dataRoot}${vol.hostPath!.path.slice(hostRoot!.length)}`);
    }
  });

  it("lists a run's files, and refuses a directory outside the data root", async () => {
    const data = await mkdtemp(join(tmpdir(), 'keystone-worker-'));
    const run = join(data, 'lammps', 'runs', 'r1');
    await mkdir(join(run, 'sub'), { recursive: true });
    await writeFile(join(run, 'log.lammps'), 'x'.repeat(12));
    await writeFile(join(run, 'sub', 'dump.lj'), 'y'.repeat(5));
    const script = [
      'import json, sys',
      'from keystone_worker.summary import summarize',
      'print(json.dumps(summarize(sys.argv[1], data_root=sys.argv[2])))',
      'try:',
      '    summarize(sys.argv[3], data_root=sys.argv[2])',
      'except ValueError as e:',
      '    print("refused:", e)',
    ].join('\n');
    const r = await execa('/usr/bin/python3', ['-c', script, run, data, join(data, '..')], {
      cwd: workerDir,
      env: { PYTHONPATH: workerDir, PATH: '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' },
      extendEnv: false,
    }); // the system's python, not a user's (pyenv, venv); no .pyc in the clone
    const [summary, refused] = r.stdout.split('\n');
    expect(JSON.parse(summary!)).toEqual({
      output_dir: run,
      files: [
        { path: 'log.lammps', bytes: 12 },
        { path: 'sub/dump.lj', bytes: 5 },
      ],
    });
    expect(refused).toMatch(/^refused: .* is not under /);
  });
});
