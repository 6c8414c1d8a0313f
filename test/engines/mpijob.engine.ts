// `npm run test:engines`: a run across nodes as the MPI Operator runs it, with this machine's real
// sshd, ssh, Open MPI and LAMMPS. Two "worker pods" are two unprivileged sshd processes started by
// images/mpi/keystone-mpi on 127.0.0.2 and 127.0.0.3 (Open MPI treats only this machine's own
// interface addresses, 127.0.0.1 among them, as local, so it really goes over ssh to both); the
// "launcher" is keystone-mpi running the profile's mpirun command with the environment the
// operator gives a launcher (kubeflow/mpi-operator v0.8.2 pkg/controller/mpi_job_controller.go:
// ompiEnvVars, OMPI_MCA_orte_set_default_slots) and a hostfile in its format (newConfigMap). All
// of it runs as uid 4321, which /etc/passwd does not know, with the operator's key pair laid out
// as its Secret volume is (owned by root, mode 0644: setupSSHOnPod sets 0600 only for /root/.ssh).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/runs/request/profiles.js';
import { chownTree } from '../../src/runs/build/run-as.js';
import { buildJobFromTemplate } from '../../src/runs/build/job.js';
import { buildMpiJob, mpiEntrypoint } from '../../src/runs/build/mpijob.js';
import {
  fieldValues,
  imageEnv,
  lastLine,
  loadProject,
  onPath,
  repoRoot,
  runLikeTheJob,
  thermoAt,
} from './engine-run.js';

const uid = 4321;
const asUid = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
const workers = ['127.0.0.2', '127.0.0.3'];
const script = join(repoRoot, 'images', 'mpi', 'keystone-mpi');
const sshConfig = join(repoRoot, 'images', 'mpi', 'ssh_config');

/** What this machine lacks for the test, or undefined. */
function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (switching to uid 4321 needs root)';
  if (!onPath('lmp') || !onPath('mpirun')) return 'lmp or mpirun not found (apt-get install -y lammps openmpi-bin)';
  if (!onPath('sshd') || !onPath('ssh')) return 'sshd not found (apt-get install -y openssh-server)';
  if (execaSync('sh', ['-c', 'ls /usr/lib/*-linux-gnu/libnss_wrapper.so'], { reject: false }).exitCode !== 0)
    return 'libnss_wrapper.so not found (apt-get install -y libnss-wrapper)';
  if (execaSync('getent', ['passwd', String(uid)], { reject: false }).exitCode === 0)
    return `uid ${uid} is in /etc/passwd here, so it would not show what the test is about`;
  return undefined;
}

const started: ResultPromise[] = [];
const temporary: string[] = [];
afterAll(async () => {
  for (const p of started) p.kill('SIGTERM');
  await Promise.allSettled(started);
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
  // keystone-mpi's own directory per uid (/tmp/keystone-mpi-<uid>, as in each pod).
  for (const id of [uid, 65534]) await rm(join(tmpdir(), `keystone-mpi-${id}`), { recursive: true, force: true });
});

/** A temporary "pod": its HOME (1777, as in the images) with the operator's key pair in HOME/.ssh as the Secret volume has it. */
async function podFiles(tool = 'lammps', example = 'in.lj'): Promise<{ dir: string; home: string; run: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'keystone-mpijob-'));
  temporary.push(dir);
  await chmod(dir, 0o755);
  const home = join(dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await chmod(home, 0o1777);
  // newSSHAuthSecret: an ECDSA P-521 key, "EC PRIVATE KEY" PEM (x509.MarshalECPrivateKey), and its
  // authorized_keys line; the volume's items are id_rsa, id_rsa.pub and authorized_keys.
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'secp521r1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const keyFile = join(dir, 'key');
  await writeFile(keyFile, privateKey, { mode: 0o600 });
  const publicLine = (await execa('ssh-keygen', ['-y', '-f', keyFile])).stdout.trim();
  await writeFile(join(home, '.ssh', 'id_rsa'), privateKey, { mode: 0o644 });
  for (const f of ['id_rsa.pub', 'authorized_keys'])
    await writeFile(join(home, '.ssh', f), `${publicLine}\n`, { mode: 0o644 });
  const run = join(dir, 'run');
  await mkdir(run);
  await cp(join(repoRoot, 'data', tool, example), join(run, example), { recursive: true });
  await chownTree(run, uid, uid);
  return { dir, home, run };
}

/** One worker: keystone-mpi sshd as uid 4321, listening on `address`; resolves once it listens. */
async function startWorker(
  home: string,
  address: string,
  env: Record<string, string>,
): Promise<{ log: () => string; stop: () => Promise<unknown> }> {
  const proc = execa(asUid[0]!, [...asUid.slice(1), script, 'sshd', '-o', `ListenAddress=${address}`], {
    env: { ...env, HOME: home },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
  started.push(proc);
  const stop = () => {
    proc.kill('SIGTERM');
    return proc;
  };
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = () => (/Server listening on/.test(log) ? resolve() : undefined);
    proc.stderr?.on('data', check);
    proc.then((r) => reject(new Error(`sshd on ${address} exited ${r.exitCode}: ${log}`)), reject);
  });
  return { log: () => log, stop };
}

/**
 * The launcher's environment: the image's, the profile's MPI variables, and what the operator
 * adds to a launcher (ompiEnvVars and the slots variable), plus what this machine needs.
 */
function launcherEnv(
  env: Record<string, string>,
  mpiEnv: [string, string][],
  hostfile: string,
  slots: number,
): Record<string, string> {
  return {
    ...env,
    ...Object.fromEntries(mpiEnv),
    OMPI_MCA_orte_keep_fqdn_hostnames: 'true',
    OMPI_MCA_orte_default_hostfile: hostfile,
    // In the image, images/mpi/ssh_config is /etc/ssh/ssh_config.d/keystone-mpi.conf; here ssh reads it with -F.
    OMPI_MCA_plm_rsh_args: `-F ${sshConfig} -o ConnectionAttempts=10`,
    OMPI_MCA_orte_set_default_slots: String(slots),
    K_MPI_JOB_ROLE: 'launcher',
    // This machine's own name is not in a cluster DNS: one try, then keystone-mpi warns and goes on (Open MPI).
    KEYSTONE_RESOLVE_TRIES: '1',
    // Only here: both "nodes" are this machine's loopback, which Open MPI's TCP paths skip by default.
    OMPI_MCA_btl_tcp_if_include: 'lo',
    OMPI_MCA_oob_tcp_if_include: 'lo',
  };
}

/** The MPIJob keystone builds for `tool` (2 ranks over 2 nodes): its launcher's argv, keystone-mpi being the repo's file. */
function launcherArgv(
  project: Awaited<ReturnType<typeof loadProject>>,
  tool: string,
  input: string,
  workingDir: string,
): { argv: string[]; mpiEnv: [string, string][] } {
  const { command, env: mpiEnv } = runCommand(project.profiles[tool]!, input, [], 2);
  const job = buildJobFromTemplate(project.templates.get(project.profiles[tool]!.template)!, {
    tool,
    runId: 'engine-test',
    name: `${tool}-engine-test`,
    command,
    workingDir,
    inputName: input,
    outputDir: workingDir,
    retries: 0,
    env: mpiEnv,
  });
  const mpiJob = buildMpiJob(job, { nodes: 2, ranks: 2, workerCpus: '1000m', mpiImplementation: 'OpenMPI' });
  expect(mpiJob.spec.mpiReplicaSpecs.Worker.template.spec.containers[0]!.command).toEqual([mpiEntrypoint, 'sshd']);
  const launcher = mpiJob.spec.mpiReplicaSpecs.Launcher.template.spec.containers[0]!.command!;
  expect(launcher[0]).toBe(mpiEntrypoint);
  return { argv: [script, ...launcher.slice(1)], mpiEnv };
}

const why = missing();
describe('MPIJob workers: keystone-mpi (images/mpi) on this machine', () => {
  if (why) {
    it(`SKIPPED: ${why}`, (ctx) => ctx.skip());
    return;
  }

  it('without keystone-mpi, ssh refuses to start as a uid /etc/passwd does not know (what the images must fix)', async () => {
    const { home } = await podFiles();
    const r = await execa(asUid[0]!, [...asUid.slice(1), 'ssh', '-F', sshConfig, workers[0]!, 'true'], {
      env: { PATH: '/usr/bin:/bin', HOME: home },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toContain(`No user exists for uid ${uid}`);
  });

  it('names any uid with $HOME as its home, also one the image already lists with another home (its key is in $HOME/.ssh)', async () => {
    const { home } = await podFiles();
    const nobody = execaSync('getent', ['passwd', '65534'], { reject: false });
    for (const id of [uid, ...(nobody.exitCode === 0 ? [65534] : [])]) {
      const as = ['setpriv', `--reuid=${id}`, `--regid=${id}`, '--clear-groups', '--'];
      const r = await execa(as[0]!, [...as.slice(1), script, 'sh', '-c', 'getent passwd "$(id -u)"; id -un; id -gn'], {
        env: { PATH: '/usr/bin:/bin', HOME: home, KEYSTONE_RESOLVE_TRIES: '1' },
        extendEnv: false,
        reject: false,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout.split('\n')).toEqual([
        `keystone-${id}:x:${id}:${id}:keystone run:${home}:/bin/sh`,
        `keystone-${id}`,
        `keystone-${id}`,
      ]);
    }
  });

  it("the launcher waits for the hostfile's workers to resolve, and gives up saying which one does not", async () => {
    const { dir } = await podFiles();
    const hostfile = join(dir, 'hostfile');
    await writeFile(hostfile, 'localhost slots=1\nnosuch-worker.invalid slots=1\n');
    const r = await execa(asUid[0]!, [...asUid.slice(1), script, 'echo', 'mpirun would start'], {
      env: { PATH: '/usr/bin:/bin', HOME: dir, OMPI_MCA_orte_default_hostfile: hostfile, KEYSTONE_RESOLVE_TRIES: '2' },
      extendEnv: false,
      reject: false,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('keystone-mpi: worker nosuch-worker.invalid does not resolve');
    expect(r.stdout).toBe('');
    await writeFile(hostfile, 'localhost slots=1\n127.0.0.2 slots=1\n');
    const ok = await execa(asUid[0]!, [...asUid.slice(1), script, 'echo', 'mpirun would start'], {
      env: { PATH: '/usr/bin:/bin', HOME: dir, OMPI_MCA_orte_default_hostfile: hostfile, KEYSTONE_RESOLVE_TRIES: '1' },
      extendEnv: false,
      reject: false,
    });
    expect(ok.stdout).toBe('mpirun would start');
  });

  it('LAMMPS in.lj over ssh to two unprivileged sshd workers as uid 4321 (not in /etc/passwd) matches a 2-rank run in one pod', async () => {
    const project = await loadProject();
    const { dir, home, run } = await podFiles();
    const env = { ...(await imageEnv(project.imageDirs.get('lammps'), home)), HOME: home };
    const [w0, w1] = await Promise.all(workers.map((address) => startWorker(home, address, env)));
    try {
      const hostfile = join(dir, 'hostfile');
      await writeFile(hostfile, workers.map((w) => `${w} slots=1\n`).join(''));
      const { argv, mpiEnv } = launcherArgv(project, 'lammps', 'in.lj', run);
      expect(argv.slice(1)).toEqual(['mpirun', '-np', '2', 'lmp', '-in', 'in.lj']);
      const r = await execa(asUid[0]!, [...asUid.slice(1), ...argv], {
        cwd: run,
        env: launcherEnv(env, mpiEnv, hostfile, 1),
        extendEnv: false,
        reject: false,
        all: true,
        timeout: 240_000,
        stdin: 'ignore',
      });
      expect(r.exitCode, r.all?.slice(-3000)).toBe(0);
      expect(r.all).toMatch(/with 2 MPI tasks x 1 OpenMP threads/);
      expect(r.all).toContain('LJ melt finished: T=3.0, 250 steps');
      // Each worker's sshd let uid 4321 in (by the name keystone-mpi gave it): the ranks ran over ssh on both.
      for (const w of [w0!, w1!])
        expect(w.log()).toMatch(new RegExp(`Accepted publickey for keystone-${uid} from 127\\.0\\.0\\.1`));
      expect((await stat(join(run, 'log.lammps'))).uid).toBe(uid);

      const local = await runLikeTheJob(
        project,
        { uid, gid: uid, wrap: asUid },
        { tool: 'lammps', example: 'in.lj', ranks: 2 },
      );
      try {
        expect(local.exitCode, local.output.slice(-2000)).toBe(0);
        const a = thermoAt(local.output, 250)!;
        const b = thermoAt(r.all ?? '', 250)!;
        expect(b).toHaveLength(6);
        // Same decomposition (2 ranks), another transport (TCP instead of shared memory): 1e-6 relative, as engines.engine.ts allows.
        for (const [i, x] of a.entries())
          expect(Math.abs(b[i]! - x), `column ${i} at step 250: one pod ${x}, over ssh ${b[i]}`).toBeLessThanOrEqual(
            1e-6 * Math.max(1, Math.abs(x)),
          );
        console.log(
          `lammps in.lj, 2 ranks over ssh to 2 sshd workers as uid ${uid}: exit ${r.exitCode}\n  step 250 one pod:  ${a.join(' ')}\n  step 250 over ssh: ${b.join(' ')}\n  ${(await readFile(join(run, 'log.lammps'), 'utf8')).split('\n').find((l) => l.includes('MPI tasks'))}`,
        );
      } finally {
        await local.cleanup();
      }
    } finally {
      await Promise.all([w0!.stop(), w1!.stop()]);
    }
  });

  it('OpenFOAM cavity over ssh to the two workers: each rank loads the OpenFOAM environment itself (the profile), and the reconstructed fields match a 2-rank run in one pod', async (ctx) => {
    if (!existsSync('/usr/share/openfoam/etc/bashrc')) return ctx.skip(); // reported as skipped: apt-get install -y openfoam
    const project = await loadProject();
    const { dir, home, run } = await podFiles('openfoam', 'cavity');
    const env = { ...(await imageEnv(project.imageDirs.get('openfoam'), home)), HOME: home };
    const started2 = await Promise.all(workers.map((address) => startWorker(home, address, env)));
    try {
      const hostfile = join(dir, 'hostfile');
      await writeFile(hostfile, workers.map((w) => `${w} slots=1\n`).join(''));
      const { argv, mpiEnv } = launcherArgv(project, 'openfoam', 'cavity', run);
      const r = await execa(asUid[0]!, [...asUid.slice(1), ...argv], {
        cwd: run,
        env: launcherEnv(env, mpiEnv, hostfile, 1),
        extendEnv: false,
        reject: false,
        all: true,
        timeout: 240_000,
        stdin: 'ignore',
      });
      expect(r.exitCode, r.all?.slice(-3000)).toBe(0);
      expect(r.all).toMatch(/^Reconstructing FV fields$/m);
      expect(lastLine(r.all ?? '')).toBe('End');
      for (const w of started2) expect(w.log()).toMatch(new RegExp(`Accepted publickey for keystone-${uid}`));

      const local = await runLikeTheJob(
        project,
        { uid, gid: uid, wrap: asUid },
        { tool: 'openfoam', example: 'cavity', ranks: 2 },
      );
      try {
        expect(local.exitCode, local.output.slice(-2000)).toBe(0);
        let worst = '';
        for (const field of ['p', 'U']) {
          const a = await fieldValues(join(local.dirs[0]!, 'cavity', '0.5', field));
          const b = await fieldValues(join(run, 'cavity', '0.5', field));
          expect(b).toHaveLength(a.length);
          const scale = Math.max(...a.slice(1).map(Math.abs));
          const diff = Math.max(...a.slice(1).map((x, i) => Math.abs(x - b[i + 1]!)));
          // The same decomposition and solvers as in one pod; only the transport differs.
          expect(diff, `${field}: largest difference ${diff} of ${scale}`).toBeLessThanOrEqual(1e-6 * scale);
          worst += ` ${field}: ${a[0]} cells, largest difference ${diff.toExponential(2)} (of max |${field}| ${scale.toExponential(2)});`;
        }
        console.log(
          `openfoam cavity, 2 ranks over ssh to 2 sshd workers as uid ${uid}: exit ${r.exitCode};${worst} last line: ${lastLine(r.all ?? '')}`,
        );
      } finally {
        await local.cleanup();
      }
    } finally {
      await Promise.all(started2.map((w) => w.stop()));
    }
  });
});
