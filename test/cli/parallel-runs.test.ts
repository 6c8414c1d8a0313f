// run-simulation --ranks N (-n/--ntasks): MPI runs in one pod, as the profile says, sized to fit a node.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadyHarness, until, runJobsOf, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const runJobs = () => runJobsOf(h);
const runDirs = async (tool: string) =>
  existsSync(join(h.project, 'data', tool, 'runs')) ? readdir(join(h.project, 'data', tool, 'runs')) : [];
const openMpiEnv = [
  { name: 'OMPI_MCA_rmaps_base_oversubscribe', value: '1' },
  { name: 'OMPI_MCA_btl_vader_single_copy_mechanism', value: 'none' },
];

describe('run-simulation --ranks', () => {
  it('a 2-rank LAMMPS run: mpirun -np 2 in one pod asking for 2 CPUs (1 per rank), Open MPI set up for a pod', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--', '-var', 'T', '2.0']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [job] = runJobs();
    const c = job!.spec.template.spec.containers[0];
    expect(c.command).toEqual(['mpirun', '-np', '2', 'lmp', '-in', 'in.lj', '-var', 'T', '2.0']);
    expect(c.resources.requests.cpu).toBe('2000m');
    expect(c.resources.limits.cpu).toBe('2000m');
    expect(c.resources.requests.memory).toBe('512Mi'); // the template's: --memory is for the whole pod
    expect(c.env).toEqual(expect.arrayContaining(openMpiEnv));
    expect(job!.spec.parallelism).toBe(1); // one pod: the ranks are processes in it
    expect(r.stdout).toContain('running: mpirun -np 2 lmp -in in.lj');
  });

  it('-n and --ntasks are --ranks (as sbatch); --cpus is then per rank', async () => {
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '-n', '3', '--cpus', '500m']);
    expect(r.exitCode, r.stderr).toBe(0);
    r = await h.run(['run-simulation', 'fenicsx', 'poisson.py', '--ntasks', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    const byTool = Object.fromEntries(
      runJobs().map((j) => [j.metadata.labels['keystone.io/simulation'], j.spec.template.spec.containers[0]]),
    );
    expect(byTool.lammps.command.slice(0, 3)).toEqual(['mpirun', '-np', '3']);
    expect(byTool.lammps.resources.requests.cpu).toBe('1500m');
    expect(byTool.fenicsx.command).toEqual(['mpirun', '-np', '2', 'python3', 'poisson.py']);
    expect(byTool.fenicsx.resources.requests.cpu).toBe('2000m');
  });

  it('--ranks 1 is the serial run, unchanged', async () => {
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const c = runJobs()[0]!.spec.template.spec.containers[0];
    expect(c.command).toEqual(['lmp', '-in', 'in.lj']);
    expect(c.resources.requests.cpu).toBe('500m');
    expect(c.env.map((e: { name: string }) => e.name)).not.toContain('OMPI_MCA_btl_vader_single_copy_mechanism');
  });

  it('an OpenFOAM parallel run: blockMesh, decomposePar into N subdomains (its own dict), the solver with -parallel, reconstructPar', async () => {
    const r = await h.run(['run-simulation', 'openfoam', 'cavity', '--ranks', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    const c = runJobs()[0]!.spec.template.spec.containers[0];
    expect(c.command.slice(0, 2)).toEqual(['bash', '-c']);
    expect(c.command.slice(3)).toEqual(['keystone-openfoam', 'cavity', '2']); // N is "$2", not pasted into the script
    const steps = (c.command[2] as string).split('\n').map((l) => l.trim());
    const at = (re: RegExp) => steps.findIndex((l) => re.test(l));
    expect(at(/^blockMesh$/)).toBeGreaterThan(-1);
    expect(at(/numberOfSubdomains %s;/)).toBeGreaterThan(at(/^blockMesh$/));
    expect(at(/^decomposePar -force -decomposeParDict "\$dict"$/)).toBeGreaterThan(at(/numberOfSubdomains/));
    // Each rank sources the OpenFOAM environment (ranks on other nodes, with --nodes, inherit none).
    expect(
      at(
        /^mpirun -np "\$ranks" bash -c '.*\. "\$env" 2>\/dev\/null; exec "\$\{args\[@\]\}"' keystone-openfoam-rank "\$foam_env" "\$solver" -parallel -decomposeParDict "\$dict" "\$@"$/,
      ),
    ).toBeGreaterThan(at(/^decomposePar/));
    expect(at(/^exec reconstructPar$/)).toBeGreaterThan(at(/^mpirun/));
    expect(c.resources.requests.cpu).toBe('2000m');
    expect(c.env).toEqual(expect.arrayContaining(openMpiEnv));
  });

  it('a request no node can satisfy is refused before submission with the largest --ranks that fits (exit 2)', async () => {
    const before = h.api.requests.filter((q: { method: string }) => q.method === 'POST').length;
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '8']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /--ranks 8 needs 8 CPUs in one pod \(8 ranks × 1\), more than any node can give \(the largest, k3d-keystone-cluster-\S+, has 4 allocatable\)/,
    );
    expect(r.stderr).toContain('the largest that fits: --ranks 4');
    // Half a core per rank: 8 ranks fit in 4 cores.
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '8', '--cpus', '0.5', '--detach']);
    expect(r.exitCode, r.stderr).toBe(0);
    // A node with more allocatable CPU makes room; cordoned nodes do not count.
    const nodes = h.api.objects('nodes');
    h.api.update('nodes', {
      ...nodes[0],
      status: { ...nodes[0].status, allocatable: { ...nodes[0].status.allocatable, cpu: '15900m' } },
    });
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '16']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the largest that fits: --ranks 15');
    h.api.update('nodes', { ...h.api.get('nodes', undefined, nodes[0].metadata.name), spec: { unschedulable: true } });
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '15']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the largest that fits: --ranks 4');
    expect(h.api.requests.filter((q: { method: string }) => q.method === 'POST').length).toBe(before + 1);
    expect(await runDirs('lammps')).toHaveLength(1);
  });

  it('without permission to list nodes: a warning, the run is submitted, and the scheduler says it does not fit', async () => {
    h.api.faults.push({
      match: (q: { method: string; path: string }) => q.method === 'GET' && q.path === '/api/v1/nodes',
      status: 403,
      times: 1000,
    });
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '8', '--detach']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("cannot read the nodes' allocatable CPU (no permission to list nodes)");
    const [job] = runJobs();
    expect(job!.spec.template.spec.containers[0].resources.requests.cpu).toBe('8000m');
    const runId = job!.metadata.labels['keystone.io/run-id']!;
    await until(
      () =>
        h.api
          .objects('pods')
          .some(
            (p: any) =>
              p.metadata.labels?.['keystone.io/run-id'] === runId &&
              p.status?.conditions?.some((c: any) => c.reason === 'Unschedulable'),
          ),
      'the run pod Unschedulable',
    );
    const pod = h.api.objects('pods').find((p: any) => p.metadata.labels?.['keystone.io/run-id'] === runId);
    expect(pod.status.conditions[0].message).toMatch(/Insufficient cpu/);
  });

  it('bad --ranks values are usage errors, as is --ranks for a profile without "parallel" (nothing created)', async () => {
    const before = h.api.requests.length;
    for (const args of [
      ['--ranks', '0'],
      ['--ranks', 'two'],
      ['--ranks', '2.5'],
      ['--ranks', '100000'],
      ['--ranks', '2', '--ntasks', '3'],
      ['-n', '-1'],
    ]) {
      const r = await h.run(['run-simulation', 'lammps', 'in.lj', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
    }
    const path = join(h.project, 'k8s', 'simulations', 'profiles.yaml');
    const text = await readFile(path, 'utf8');
    const start = text.indexOf('    parallel:\n      command: ["mpirun", "-np", "{ranks}", "lmp"');
    await writeFile(path, text.slice(0, start) + text.slice(text.indexOf('    examples: [in.lj]')));
    const r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the lammps profile says nothing about running under MPI, so --ranks must be 1');
    expect(h.api.requests.length).toBe(before);
    expect(await runDirs('lammps')).toEqual([]);
  });

  it('--nodes K without the MPI Operator is refused with its install command (nothing submitted); runs with it: mpijob-runs.test.ts', async () => {
    const before = h.api.requests.filter((q: { method: string }) => q.method !== 'GET').length;
    let r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '4', '--nodes', '2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      '--nodes 2: context k3d-keystone-cluster has no MPI Operator (no MPIJob resource in kubeflow.org/v2beta1)',
    );
    expect(r.stderr).toContain(
      'install it: kubectl apply --server-side -f https://raw.githubusercontent.com/kubeflow/mpi-operator/v0.8.2/deploy/v2beta1/mpi-operator.yaml',
    );
    expect(h.api.requests.some((q: { path: string }) => q.path === '/apis/kubeflow.org/v2beta1')).toBe(true);
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '1', '--nodes', '2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('each node needs at least one rank');
    for (const bad of ['0', 'x', '65'])
      expect((await h.run(['run-simulation', 'lammps', 'in.lj', '--nodes', bad])).exitCode, bad).toBe(2);
    expect(h.api.requests.filter((q: { method: string }) => q.method !== 'GET').length).toBe(before);
    expect(await runDirs('lammps')).toEqual([]);

    // --nodes 1 is one pod, as without it.
    r = await h.run(['run-simulation', 'lammps', 'in.lj', '--ranks', '2', '--nodes', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(runJobs()[0]!.spec.template.spec.containers[0].command.slice(0, 3)).toEqual(['mpirun', '-np', '2']);
  });
});
