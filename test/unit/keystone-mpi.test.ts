// images/mpi/keystone-mpi as an MPIJob's launcher: before mpirun it waits, as the MPI Operator's own
// entrypoint does (kubeflow/mpi-operator v0.8.0 build/base/entrypoint.sh: resolve_host "$HOSTNAME",
// then each host of /etc/mpi/hostfile), until its own name resolves in the cluster DNS (MPICH's and
// Intel MPI's workers connect back to it by that name: pkg/controller/mpi_job_controller.go newWorker)
// and the workers' names resolve. getent and sleep are fakes here: DNS answers as the test says, and
// no time passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../helpers/harness.js';

const script = join(repoRoot, 'images', 'mpi', 'keystone-mpi');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystone-mpi-test-'));
  // getent: "-s files hosts NAME" answers from FAKE_HOSTS_LINE (the pod's /etc/hosts); a DNS lookup
  // of NAME answers once it has been asked FAKE_LATE_<n> times for a name in FAKE_DNS_LATE, at once
  // for a name in FAKE_DNS, never otherwise.
  await writeFile(
    join(dir, 'getent'),
    `#!/bin/sh
echo "getent $*" >> "$FAKE_LOG"
if [ "$1" = -s ] && [ "$2" = files ]; then
  [ -n "\${FAKE_HOSTS_LINE:-}" ] && echo "$FAKE_HOSTS_LINE" && exit 0
  exit 2
fi
if [ "$1" = -s ]; then name=$4; else name=$2; fi
for n in \${FAKE_DNS:-}; do [ "$n" = "$name" ] && echo "10.42.0.9 STREAM $name" && exit 0; done
if [ "$name" = "\${FAKE_DNS_LATE:-}" ]; then
  count=$(($(cat "$FAKE_LOG.count" 2>/dev/null || echo 0) + 1)); echo $count > "$FAKE_LOG.count"
  [ "$count" -ge "$FAKE_LATE_AFTER" ] && echo "10.42.0.5 STREAM $name" && exit 0
fi
exit 2
`,
  );
  await writeFile(join(dir, 'sleep'), '#!/bin/sh\necho "sleep $*" >> "$FAKE_LOG"\n');
  for (const f of ['getent', 'sleep']) await chmod(join(dir, f), 0o755);
  await writeFile(join(dir, 'hostfile'), 'pi-worker-0.pi.keystone.svc:2\npi-worker-1.pi.keystone.svc:2\n');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function launcher(env: Record<string, string>) {
  const log = join(dir, `log-${Math.random().toString(36).slice(2)}`);
  const r = await execa('sh', [script, 'echo', 'mpirun would start'], {
    env: {
      PATH: `${dir}:/usr/bin:/bin`,
      HOME: dir,
      TMPDIR: dir,
      HOSTNAME: 'pi-launcher',
      FAKE_LOG: log,
      KEYSTONE_RESOLVE_TRIES: '5',
      ...env,
    },
    extendEnv: false,
    reject: false,
  });
  const calls = existsSync(log) ? (await readFile(log, 'utf8')).trim().split('\n') : [];
  return { ...r, calls };
}

/** Past the waits: it ran the command, or (where the machine lacks libnss-wrapper) stopped at the image check after them. */
function pastTheWaits(r: { exitCode?: number; stdout: string; stderr: string }) {
  if (r.exitCode === 0) expect(r.stdout).toBe('mpirun would start');
  else expect(r.stderr).toContain('keystone-mpi: libnss_wrapper.so not found');
  expect(r.stderr).not.toContain('does not resolve');
}

const hostsLine = '10.42.0.5\tpi-launcher.pi.keystone.svc.cluster.local\tpi-launcher';
const fqdn = 'pi-launcher.pi.keystone.svc.cluster.local';
const workers = 'pi-worker-0.pi.keystone.svc pi-worker-1.pi.keystone.svc';

describe('keystone-mpi launcher: waits for its own name in DNS, then the workers, bounded', () => {
  it('MPICH: waits until the cluster DNS answers for its own name (not /etc/hosts), then for the workers', async () => {
    const r = await launcher({
      HYDRA_HOST_FILE: join(dir, 'hostfile'),
      FAKE_HOSTS_LINE: hostsLine,
      FAKE_DNS_LATE: fqdn,
      FAKE_LATE_AFTER: '3',
      FAKE_DNS: workers,
    });
    pastTheWaits(r);
    expect(r.calls).toEqual([
      'getent -s files hosts pi-launcher',
      `getent -s dns ahosts ${fqdn}`,
      'sleep 1',
      `getent -s dns ahosts ${fqdn}`,
      'sleep 1',
      `getent -s dns ahosts ${fqdn}`,
      'getent ahosts pi-worker-0.pi.keystone.svc',
      'getent ahosts pi-worker-1.pi.keystone.svc',
    ]);
  });

  it('MPICH or Intel MPI: gives up after KEYSTONE_RESOLVE_TRIES, naming its own name and why it matters, and never runs mpirun', async () => {
    for (const hostfileVar of ['HYDRA_HOST_FILE', 'I_MPI_HYDRA_HOST_FILE']) {
      const r = await launcher({ [hostfileVar]: join(dir, 'hostfile'), FAKE_HOSTS_LINE: hostsLine, FAKE_DNS: workers });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(
        `keystone-mpi: this launcher's own name ${fqdn} does not resolve in the cluster DNS after 5 tries; with MPICH and Intel MPI the workers connect back to it by that name`,
      );
      expect(r.stdout).toBe('');
      expect(r.calls.filter((c) => c === 'sleep 1')).toHaveLength(4);
      expect(r.calls.some((c) => c.includes('pi-worker'))).toBe(false);
    }
  });

  it("Open MPI: its workers reach the launcher by address, so after the bounded wait it warns and goes on, as the operator's entrypoint does", async () => {
    const r = await launcher({ OMPI_MCA_orte_default_hostfile: join(dir, 'hostfile'), FAKE_DNS: workers });
    expect(r.stderr).toContain(
      "keystone-mpi: warning: this launcher's own name pi-launcher does not resolve in the cluster DNS after 5 tries; going on",
    );
    pastTheWaits({ ...r, stderr: r.stderr.replace(/^.*warning.*$/m, '') });
    expect(r.calls).toContain('getent ahosts pi-worker-1.pi.keystone.svc');
  });

  it('a worker that never resolves: gives up naming it', async () => {
    const r = await launcher({
      OMPI_MCA_orte_default_hostfile: join(dir, 'hostfile'),
      FAKE_HOSTS_LINE: hostsLine,
      FAKE_DNS: `${fqdn} pi-worker-0.pi.keystone.svc`,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('keystone-mpi: worker pi-worker-1.pi.keystone.svc does not resolve');
  });
});
