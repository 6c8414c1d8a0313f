/**
 * The Docker daemon `npm run test:containers` runs against: a DOCKER_HOST that already answers, or
 * a dockerd of its own that leaves this machine's network alone:
 *
 *   --bridge=none             no docker0 bridge (no interface, route or address added to the host)
 *   --iptables=false --ip-masq=false   no firewall or NAT rules
 *   --data-root/--exec-root/--pidfile/-H  its own directories and socket, never /var/lib/docker
 *                             or /var/run/docker.sock (a developer's own Docker is not touched)
 *
 * The data root lives in a cache directory outside the repository (KEYSTONE_CONTAINERS_CACHE,
 * default ~/.cache/keystone-containers), so the base image and the build cache survive between
 * runs and a repeat run does not build again. Containers get no network of their own (bridge
 * none): runs across "nodes" share one network namespace (see mpijob.containers.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { execa } from 'execa';

export const cacheDir =
  process.env.KEYSTONE_CONTAINERS_CACHE ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'keystone-containers');

export interface OwnDaemon {
  socket: string;
  dataRoot: string;
  execRoot: string;
  pidFile: string;
  logFile: string;
}

/** The paths of this cache's dockerd (the exec root is short: containerd's socket path must fit in 108 bytes). */
export function ownDaemon(dir = cacheDir): OwnDaemon {
  const tag = createHash('sha256').update(dir).digest('hex').slice(0, 8);
  return {
    socket: join(dir, 'docker.sock'),
    dataRoot: join(dir, 'docker'),
    execRoot: `/tmp/keystone-dockerd-${tag}`,
    pidFile: join(dir, 'dockerd.pid'),
    logFile: join(dir, 'dockerd.log'),
  };
}

/** The environment every docker call of the tier gets: DOCKER_HOST set, nothing else changed. */
export function dockerEnv(host: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: host };
}

/** `docker info`'s server version, or undefined when nothing answers at `host`. */
export async function answers(host: string, timeoutMs = 10_000): Promise<string | undefined> {
  const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], {
    env: dockerEnv(host),
    reject: false,
    timeout: timeoutMs,
  });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** Why this machine cannot start a dockerd of its own (undefined: it can try). */
export async function whyNoOwnDaemon(): Promise<string | undefined> {
  for (const tool of ['docker', 'dockerd']) {
    const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (r.exitCode !== 0) return `${tool} is not installed (Debian: apt-get install -y docker.io debootstrap)`;
  }
  if (process.getuid?.() !== 0)
    return 'dockerd needs root (run as root, or set DOCKER_HOST to a Docker daemon that answers)';
  return undefined;
}

function livePid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export interface StartedDaemon {
  host: string;
  version: string;
  /** The dockerd this run stops at its end (started by it, or an earlier run's it took over). */
  pid?: number;
  adopted?: boolean;
}

/**
 * Starts this cache's dockerd (or takes over one left running) and waits until it answers. Throws with the
 * end of dockerd's log when it does not come up.
 */
export async function startOwnDaemon(d: OwnDaemon = ownDaemon(), timeoutMs = 60_000): Promise<StartedDaemon> {
  const host = `unix://${d.socket}`;
  const running = livePid(d.pidFile);
  if (running) {
    const version = await answers(host);
    // Under the cache's lock (lockCache) a dockerd already running is an earlier run's that did
    // not stop it (killed): this run takes it over, and stops it at the end.
    if (version) return { host, version, pid: running, adopted: true };
    throw new Error(`dockerd (pid ${running}, ${d.pidFile}) runs but does not answer at ${host}`);
  }
  await mkdir(d.dataRoot, { recursive: true });
  await mkdir(d.execRoot, { recursive: true });
  const log = await open(d.logFile, 'a');
  // Detached, its output in the log file: it outlives a test worker that restarts it.
  const child = spawn(
    'dockerd',
    [
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
      '--storage-driver=overlay2',
      '--data-root',
      d.dataRoot,
      '--exec-root',
      d.execRoot,
      '--pidfile',
      d.pidFile,
      '-H',
      host,
    ],
    { stdio: ['ignore', log.fd, log.fd], detached: true },
  );
  child.unref();
  const pid = child.pid!;
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + timeoutMs;
  // Polling, not sleeping for a fixed time: it answers in about a second when idle.
  while (Date.now() < deadline && !exited) {
    const version = await answers(host, 5_000);
    if (version) {
      await log.close();
      return { host, version, pid };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await log.close();
  if (!exited) process.kill(pid, 'SIGTERM');
  const tail = (await readFile(d.logFile, 'utf8')).trim().split('\n').slice(-5).join('\n');
  throw new Error(
    `dockerd did not answer at ${host} within ${timeoutMs / 1000}s${exited ? ' (it exited)' : ''}; the end of ${d.logFile}:\n${tail}`,
  );
}

/** Stops a dockerd this process started (by its pid) and waits until it is gone. */
export async function stopOwnDaemon(pid: number, timeoutMs = 30_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The Debian mirror this machine's apt uses (the first http(s) URI in its sources), for debootstrap. */
export async function debianMirror(): Promise<string> {
  const files = [
    '/etc/apt/sources.list',
    ...(existsSync('/etc/apt/sources.list.d')
      ? (
          await execa('sh', [
            '-c',
            'ls /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true',
          ])
        ).stdout
          .split('\n')
          .filter(Boolean)
      : []),
  ];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = await readFile(file, 'utf8');
    // One-line format: "deb [opts] URI suite ..."; deb822: "URIs: URI ..." in a stanza with "Types: deb".
    for (const m of text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+)\s+\S+/gm))
      if (!/security/.test(m[1]!)) return m[1]!;
    for (const stanza of text.split(/\n\s*\n/)) {
      if (/^Enabled:\s*no/im.test(stanza) || !/^Types:.*\bdeb\b/im.test(stanza)) continue;
      const uri = /^URIs:\s*(https?:\/\/\S+)/im.exec(stanza)?.[1];
      if (uri && !/security/.test(uri)) return uri;
    }
  }
  return 'http://deb.debian.org/debian';
}

/** The base image the LAMMPS and OpenFOAM Dockerfiles name. */
export const debianBase = 'docker.io/library/debian:bookworm-slim';

/**
 * Makes `debianBase` with debootstrap when the daemon lacks it (Docker Hub cannot be reached
 * here): a minbase bookworm, without the package cache and lists (as the official slim image),
 * with the official image's CMD. Returns what was done, for the test output.
 */
export async function ensureDebianBase(host: string, dir = cacheDir): Promise<string> {
  const env = dockerEnv(host);
  if ((await execa('docker', ['image', 'inspect', debianBase], { env, reject: false })).exitCode === 0)
    return `${debianBase}: already in the daemon (cached)`;
  if ((await execa('sh', ['-c', 'command -v debootstrap'], { reject: false })).exitCode !== 0) {
    throw new Error(
      `${debianBase} cannot be pulled here and debootstrap is not installed (apt-get install -y debootstrap)`,
    );
  }
  const mirror = await debianMirror();
  const root = join(dir, 'bookworm-rootfs');
  await rm(root, { recursive: true, force: true });
  const started = Date.now();
  const boot = await execa('debootstrap', ['--variant=minbase', 'bookworm', root, mirror], {
    reject: false,
    all: true,
  });
  if (boot.exitCode !== 0)
    throw new Error(
      `debootstrap bookworm from ${mirror} failed:\n${(boot.all ?? '').split('\n').slice(-10).join('\n')}`,
    );
  await execa('sh', ['-c', 'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*', 'sh', root]);
  // A pipe of two fixed commands; the paths are arguments ($1, $2), never part of the script.
  await execa(
    'bash',
    [
      '-c',
      'set -o pipefail; tar -C "$1" -c . | docker import --change \'CMD ["bash"]\' - "$2"',
      'bash',
      root,
      debianBase,
    ],
    { env },
  );
  await rm(root, { recursive: true, force: true });
  return `${debianBase}: made with debootstrap --variant=minbase bookworm from ${mirror} in ${((Date.now() - started) / 1000).toFixed(0)} s`;
}

/** The pid of this cache's dockerd if one runs (after a restart, not the one first started). */
export function currentOwnPid(d: OwnDaemon = ownDaemon()): number | undefined {
  return livePid(d.pidFile);
}

/**
 * One tier run at a time per cache: a second run (a developer's beside CI's) would share the
 * daemon that the first stops at its end and in its daemon-stop test. The lock is a directory
 * (mkdir is atomic) holding the owner's pid; one whose owner is gone is taken over.
 */
export async function lockCache(
  dir = cacheDir,
  waitMs = 30 * 60_000,
  onWait?: (owner: number) => void,
): Promise<() => Promise<void>> {
  const lock = join(dir, 'run.lock');
  await mkdir(dir, { recursive: true });
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      return () => rm(lock, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(join(lock, 'pid'), 'utf8').catch(() => '')).trim());
    let alive = false;
    if (Number.isInteger(owner) && owner > 0) {
      try {
        process.kill(owner, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    // No pid yet: its owner is between mkdir and writeFile; wait for it like for a live one.
    if (!alive && owner > 0) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another test:containers run (pid ${owner}) holds ${lock}`);
    if (!told && owner > 0) {
      onWait?.(owner);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
