// A run across nodes (--nodes 2 --ranks 2) in real containers: keystone's MPIJob (buildMpiJob),
// its worker and launcher pods as the MPI Operator makes them (the fake operator's newWorker and
// newLauncherJob, kubeflow/mpi-operator v0.8.2: the ssh Secret at sshAuthMountPath, the hostfile
// ConfigMap at /etc/mpi, the launcher's OMPI_MCA_* environment), each pod one container of the
// project's image as uid 4321 (not in the image's /etc/passwd), no capabilities, no privilege
// escalation, the data directory mounted as the hostPath is.
//
// The containers share one network namespace: this tier's dockerd has no bridge network (one
// would add an interface and routes to the host), so each "pod" is a container joined to one
// infra container (--network container:…, like a pod's pause container), with its own loopback
// address as its pod IP (127.0.0.2, 127.0.0.3: Open MPI takes only 127.0.0.1 as this host, so it
// really goes over ssh to each worker), and the hostfile's names resolve to those addresses
// through the infra container's /etc/hosts (the headless Service's DNS records in a cluster).
// What stays unverified here: pod-to-pod traffic across real network interfaces and nodes
// (Open MPI's TCP on eth0, CNI, NetworkPolicy), cluster DNS (keystone-mpi's wait for the launcher's
// own name in DNS is cut to one try, KEYSTONE_RESOLVE_TRIES=1), and the operator's own controller;
// the additions this needs are listed in the launcher's and workers' argv printed below.
import { generateKeyPairSync } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCommand } from '../../src/runs/request/profiles.js';
import { buildJobFromTemplate } from '../../src/runs/build/job.js';
import { buildMpiJob, mpiEntrypoint } from '../../src/runs/build/mpijob.js';
import { chownTree } from '../../src/runs/build/run-as.js';
import { crdDefaults, hostfile, newLauncherJob, newWorker } from '../fakes/mpi-operator.mjs';
import { fieldValues, lastLine, loadProject, repoRoot, runLikeTheJob, thermoAt } from '../engines/engine-run.js';
import { debianBase, dockerEnv } from './daemon.js';
import { inContainer, uniqueName } from './job-in-docker.js';
import { dockerRunArgs, type PodSpecLike } from './pod-to-docker.js';

const tier = inject('containers');
const uid = 4321;
const asUid = { uid, gid: uid, wrap: ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'] };
const env = () => dockerEnv(tier.host);
const started: string[] = [];
const temporary: string[] = [];

afterAll(async () => {
  if (started.length) await execa('docker', ['rm', '-f', ...started], { env: env(), reject: false });
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

interface Pod {
  metadata: { name: string };
  spec: PodSpecLike;
}

/** Waits until the container's log matches (sshd's "Server listening"), or fails with the log. */
async function logMatches(name: string, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const r = await execa('docker', ['logs', name], { env: env(), reject: false, all: true });
    if (pattern.test(r.all ?? '')) return r.all ?? '';
    const state = await execa('docker', ['inspect', '--format', '{{.State.Running}}', name], {
      env: env(),
      reject: false,
    });
    if (state.stdout.trim() === 'false') throw new Error(`${name} exited:\n${r.all}`);
    await new Promise((r2) => setTimeout(r2, 100));
  }
  throw new Error(`${name}: no ${pattern} in its log`);
}

async function runAcrossNodes(
  tool: string,
  example: string,
  prepare?: (stagedInput: string) => Promise<void>,
  extraArgs: string[] = [],
): Promise<{ output: string; exitCode: number; runDir: string; workerLogs: string[]; argv: string[][] }> {
  const project = await loadProject();
  const profile = project.profiles[tool]!;
  const tmp = await mkdtemp(join(tmpdir(), `keystone-tier-mpi-${tool}-`));
  temporary.push(tmp);
  const dataDir = join(tmp, 'data');
  const runId = 'mpi-test';
  const runDir = join(dataDir, tool, 'runs', runId);
  await mkdir(runDir, { recursive: true });
  await cp(join(repoRoot, 'data', tool, example), join(runDir, example), { recursive: true });
  await prepare?.(join(runDir, example));
  await chownTree(join(dataDir, tool), uid, uid);

  // keystone's MPIJob for --nodes 2 --ranks 2, then the pods the operator makes of it.
  const { command, env: mpiEnv } = runCommand(profile, example, extraArgs, 2);
  const job = buildJobFromTemplate(project.templates.get(profile.template)!, {
    tool,
    runId,
    name: `${tool}-${runId}`,
    command,
    workingDir: `/data/${tool}/runs/${runId}`,
    inputName: example,
    outputDir: runDir,
    retries: 0,
    env: mpiEnv,
    runAs: { uid, gid: uid },
  });
  const mpiJob = crdDefaults(
    buildMpiJob(job, { nodes: 2, ranks: 2, workerCpus: '1000m', mpiImplementation: 'OpenMPI' }),
  );
  const workers = [0, 1].map((i) => newWorker(mpiJob, i) as Pod);
  const launcher = newLauncherJob(mpiJob).spec.template as unknown as Pod;
  launcher.metadata = { name: `${mpiJob.metadata.name}-launcher` };
  expect(workers[0]!.spec.containers[0]!.command).toEqual([mpiEntrypoint, 'sshd']);
  expect(launcher.spec.containers[0]!.command![0]).toBe(mpiEntrypoint);

  // The Secret (newSSHAuthSecret: ECDSA P-521, "EC PRIVATE KEY" PEM) and the ConfigMap, as the
  // kubelet lays them out: files owned by root, 0644 (0444/0555 for the ConfigMap's items).
  const secret = join(tmp, 'ssh-auth');
  const config = join(tmp, 'mpi-job-config');
  await mkdir(secret);
  await mkdir(config);
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'secp521r1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await writeFile(join(tmp, 'key'), privateKey, { mode: 0o600 });
  const publicLine =
    (await execa('ssh-keygen', ['-y', '-f', join(tmp, 'key')], { reject: false })).stdout.trim() ||
    (
      await execa(
        'docker',
        [
          'run',
          '--rm',
          '-v',
          `${tmp}/key:/key:ro`,
          '--network',
          'none',
          'keystone/lammps:0.1.0',
          'ssh-keygen',
          '-y',
          '-f',
          '/key',
        ],
        { env: env() },
      )
    ).stdout.trim();
  await writeFile(join(secret, 'id_rsa'), privateKey, { mode: 0o644 });
  for (const f of ['id_rsa.pub', 'authorized_keys'])
    await writeFile(join(secret, f), `${publicLine}\n`, { mode: 0o644 });
  await writeFile(join(config, 'hostfile'), hostfile(mpiJob), { mode: 0o444 });
  await writeFile(join(config, 'discover_hosts.sh'), '#!/bin/sh\n', { mode: 0o555 });
  for (const dir of [secret, config]) await chmod(dir, 0o755);
  const volumeDirs = { 'ssh-auth': secret, 'mpi-job-config': config };

  // The infra container: the network namespace, and /etc/hosts with each pod's address.
  const fqdn = (name: string) => `${name}.${mpiJob.metadata.name}.${mpiJob.metadata.namespace}.svc`;
  const addresses = workers.map((_, i) => `127.0.0.${i + 2}`);
  const infra = uniqueName(`${tool}-infra`);
  started.push(infra);
  // The containers that join it share its hostname, which must resolve as a pod's own name does
  // (the kubelet's /etc/hosts): unresolved, every lookup of it waits for DNS this namespace cannot
  // reach, and mpirun took a minute to start.
  const hostname = `${mpiJob.metadata.name}-pods`;
  await execa(
    'docker',
    [
      'run',
      '-d',
      '--name',
      infra,
      '--network',
      'none',
      '--hostname',
      hostname,
      '--add-host',
      `${hostname}:127.0.0.1`,
      ...workers.flatMap((w, i) => ['--add-host', `${fqdn(w.metadata.name)}:${addresses[i]}`]),
      '--user',
      '65534:65534',
      '--cap-drop',
      'ALL',
      debianBase,
      'sleep',
      'infinity',
    ],
    { env: env() },
  );
  const net = `container:${infra}`;

  const argv: string[][] = [];
  const names: string[] = [];
  for (const [i, w] of workers.entries()) {
    const c = w.spec.containers[0]!;
    // Each worker listens on its own pod address (in a cluster each pod has its own IP).
    const args = await dockerRunArgs(
      w.spec,
      { ...c, command: [...c.command!, '-o', `ListenAddress=${addresses[i]}`] },
      { name: uniqueName(`${tool}-worker-${i}`), nodeDataDir: dataDir, network: net, volumeDirs },
    );
    names.push(args[1]!);
    started.push(args[1]!);
    argv.push(['run', '-d', ...args]);
    await execa('docker', ['run', '-d', ...args], { env: env() });
  }
  await Promise.all(names.map((n) => logMatches(n, /Server listening on 127\.0\.0\.\d port 2222/)));

  // The launcher, with the operator's environment; only here: the one loopback interface is the
  // "network", which Open MPI's TCP paths skip unless told to use it.
  const lc = launcher.spec.containers[0]!;
  const launcherName = uniqueName(`${tool}-launcher`);
  // And: no cluster DNS answers here, so keystone-mpi's wait for the launcher's own name in DNS
  // (60 one-second tries) would only delay: one try, then its warning (Open MPI goes on).
  const args = await dockerRunArgs(launcher.spec, lc, {
    name: launcherName,
    nodeDataDir: dataDir,
    network: net,
    volumeDirs,
    env: { OMPI_MCA_btl_tcp_if_include: 'lo', OMPI_MCA_oob_tcp_if_include: 'lo', KEYSTONE_RESOLVE_TRIES: '1' },
  });
  argv.push(['run', '--rm', ...args]);
  const r = await execa('docker', ['run', '--rm', ...args], { env: env(), reject: false, all: true, timeout: 240_000 });
  const workerLogs = await Promise.all(
    names.map(async (n) => (await execa('docker', ['logs', n], { env: env(), reject: false, all: true })).all ?? ''),
  );
  return { output: r.all ?? '', exitCode: r.exitCode ?? -1, runDir, workerLogs, argv };
}

/** cavity to t = 0.1 (20 steps, its first written time) instead of 0.5, to keep the tier short. */
async function shorten(caseDir: string): Promise<void> {
  const file = join(caseDir, 'system', 'controlDict');
  const text = await readFile(file, 'utf8');
  expect(text).toMatch(/^endTime\s+0\.5;$/m);
  await writeFile(file, text.replace(/^endTime\s+0\.5;$/m, 'endTime         0.1;'));
}

describe('a run across 2 nodes (MPIJob) in containers sharing one network namespace', () => {
  if (tier.skip) {
    it(`SKIPPED: ${tier.skip}`, (ctx) => ctx.skip());
    return;
  }
  const built = (image: string) => tier.images.find((i) => i.image === image)?.status === 'built';

  it.skipIf(!built('keystone/lammps:0.1.0'))(
    "LAMMPS in.lj: the launcher's mpirun reaches both workers' sshd as uid 4321 and matches a 2-rank run in one pod",
    async () => {
      // 100 steps (-var steps 100, passed after -- as a user would), to keep the tier short.
      const steps = ['-var', 'steps', '100'];
      const run = await runAcrossNodes('lammps', 'in.lj', undefined, steps);
      expect(run.exitCode, run.output.slice(-3000)).toBe(0);
      expect(run.output).toMatch(/with 2 MPI tasks x 1 OpenMP threads/);
      expect(run.output).toContain('LJ melt finished: T=3.0, 100 steps');
      expect(run.output).toMatch(
        /keystone-mpi: warning: this launcher's own name \S+ does not resolve in the cluster DNS after 1 tries; going on/,
      );
      for (const log of run.workerLogs)
        expect(log).toMatch(new RegExp(`Accepted publickey for keystone-${uid} from 127\\.0\\.0\\.1`));
      expect((await stat(join(run.runDir, 'log.lammps'))).uid).toBe(uid);
      const project = await loadProject();
      const local = await runLikeTheJob(project, asUid, {
        tool: 'lammps',
        example: 'in.lj',
        ranks: 2,
        extraArgs: steps,
        executor: inContainer(tier.host),
      });
      try {
        expect(local.exitCode, local.output.slice(-2000)).toBe(0);
        const a = thermoAt(local.output, 100)!;
        const b = thermoAt(run.output, 100)!;
        expect(b).toHaveLength(6);
        for (const [i, x] of a.entries())
          expect(
            Math.abs(b[i]! - x),
            `column ${i} at step 100: one pod ${x}, across nodes ${b[i]}`,
          ).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x)));
        console.log(
          `lammps in.lj (100 steps) across 2 worker containers as uid ${uid}: exit ${run.exitCode}\n  step 100 one pod:      ${a.join(' ')}\n  step 100 across nodes: ${b.join(' ')}\n${run.argv.map((a2) => `  docker ${a2.join(' ')}`).join('\n')}`,
        );
      } finally {
        await local.cleanup();
      }
    },
  );

  it.skipIf(!built('openfoam-toolbox:0.1.0'))(
    'OpenFOAM cavity: each rank on a worker loads the OpenFOAM environment itself; the reconstructed fields match a 2-rank run in one pod',
    async () => {
      const run = await runAcrossNodes('openfoam', 'cavity', shorten);
      expect(run.exitCode, run.output.slice(-3000)).toBe(0);
      expect(run.output).toMatch(/^Reconstructing FV fields$/m);
      expect(lastLine(run.output)).toBe('End');
      for (const log of run.workerLogs) expect(log).toMatch(new RegExp(`Accepted publickey for keystone-${uid}`));
      const project = await loadProject();
      const local = await runLikeTheJob(project, asUid, {
        tool: 'openfoam',
        example: 'cavity',
        ranks: 2,
        executor: inContainer(tier.host),
        breakInput: shorten,
      });
      try {
        expect(local.exitCode, local.output.slice(-2000)).toBe(0);
        let worst = '';
        for (const field of ['p', 'U']) {
          const a = await fieldValues(join(local.dirs[0]!, 'cavity', '0.1', field));
          const b = await fieldValues(join(run.runDir, 'cavity', '0.1', field));
          expect(b).toHaveLength(a.length);
          const scale = Math.max(...a.slice(1).map(Math.abs));
          const diff = Math.max(...a.slice(1).map((x, i) => Math.abs(x - b[i + 1]!)));
          expect(diff, `${field}: largest difference ${diff} of ${scale}`).toBeLessThanOrEqual(1e-6 * scale);
          worst += ` ${field}: largest difference ${diff.toExponential(2)};`;
        }
        console.log(
          `openfoam cavity across 2 worker containers as uid ${uid}: exit ${run.exitCode};${worst} last line: ${lastLine(run.output)}`,
        );
      } finally {
        await local.cleanup();
      }
    },
  );
});
