/**
 * A pod's container as `docker run` flags: what the kubelet would give it, as far as one Docker
 * daemon can. The security settings map one to one (runAsUser/runAsGroup: --user, fsGroup and
 * supplementalGroups: --group-add, capabilities: --cap-drop/--cap-add, allowPrivilegeEscalation
 * false: no-new-privileges, readOnlyRootFilesystem: --read-only, seccomp RuntimeDefault: Docker's
 * default profile); the Job's command replaces the image's ENTRYPOINT and its env and workingDir
 * are set; hostPath volumes under the node's /data are the host's data directory (k3d mounts
 * ./data at /data on every node), emptyDir is a tmpfs, Secret and ConfigMap volumes are
 * directories the caller lays out. Anything this does not know is refused, not dropped.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  fsGroup?: number;
  supplementalGroups?: number[];
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

export interface PodContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  resources?: { limits?: { cpu?: string; memory?: string } };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}

export interface PodSpecLike {
  securityContext?: SecurityContext;
  containers: PodContainer[];
  volumes?: {
    name: string;
    hostPath?: { path: string; type?: string };
    emptyDir?: Record<string, unknown>;
    secret?: unknown;
    configMap?: unknown;
  }[];
}

export interface DockerRunOptions {
  name: string;
  /** The host directory that is every node's /data. */
  nodeDataDir: string;
  /** --network: "none", "host" or "container:NAME". */
  network: string;
  /** Variables the cluster adds (JOB_COMPLETION_INDEX, the operator's launcher variables). */
  env?: Record<string, string>;
  /** Secret values by secret name and key, for env valueFrom.secretKeyRef. */
  secrets?: Record<string, Record<string, string>>;
  /**
   * Filled with the secret values to give the docker client's own environment: the argv says
   * `-e NAME` only (docker run takes the value from its environment), so no command line, log or
   * error message shows a secret.
   */
  clientEnv?: Record<string, string>;
  /** Host directories standing for Secret/ConfigMap volumes, by volume name. */
  volumeDirs?: Record<string, string>;
  /** The pod's hostname (not allowed with another container's network namespace). */
  hostname?: string;
}

/** "2" -> 2, "500m" -> 0.5 (Kubernetes CPU quantities). */
export function cpus(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

/** "4Gi" -> bytes (the binary and decimal suffixes Kubernetes memory quantities use). */
export function bytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) throw new Error(`memory quantity ${quantity} is not understood here`);
  const unit =
    { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/** The `docker run` arguments (after `run`) for `container` of `pod`; creates DirectoryOrCreate host paths. */
export async function dockerRunArgs(pod: PodSpecLike, container: PodContainer, o: DockerRunOptions): Promise<string[]> {
  const podSc = pod.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const pick = <K extends keyof SecurityContext>(k: K) => (sc[k] !== undefined ? sc[k] : podSc[k]);
  const args = ['--name', o.name, '--network', o.network];
  if (o.hostname && !o.network.startsWith('container:')) args.push('--hostname', o.hostname);

  const uid = pick('runAsUser');
  const gid = pick('runAsGroup');
  // The kubelet refuses to start such a container (kuberuntime_container.go verifyRunAsNonRoot).
  if (pick('runAsNonRoot') && (uid === undefined || uid === 0))
    throw new Error(
      `${container.name}: runAsNonRoot with ${uid === 0 ? 'runAsUser 0' : 'no runAsUser'}: the kubelet would not start it`,
    );
  if (uid !== undefined) args.push('--user', gid !== undefined ? `${uid}:${gid}` : String(uid));
  for (const g of [...(podSc.fsGroup !== undefined ? [podSc.fsGroup] : []), ...(podSc.supplementalGroups ?? [])])
    args.push('--group-add', String(g));
  for (const c of sc.capabilities?.drop ?? []) args.push('--cap-drop', c);
  for (const c of sc.capabilities?.add ?? []) args.push('--cap-add', c);
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  if (sc.readOnlyRootFilesystem) args.push('--read-only');
  if (sc.privileged) args.push('--privileged');
  const seccomp = pick('seccompProfile')?.type;
  // RuntimeDefault is the runtime's default profile, which Docker applies unless told otherwise.
  if (seccomp === 'Unconfined') args.push('--security-opt', 'seccomp=unconfined');
  else if (seccomp !== undefined && seccomp !== 'RuntimeDefault')
    throw new Error(`${container.name}: seccompProfile ${seccomp} is not translated`);

  const limits = container.resources?.limits ?? {};
  if (limits.cpu) args.push('--cpus', String(cpus(limits.cpu)));
  if (limits.memory) args.push('--memory', String(bytes(limits.memory)));

  for (const e of container.env ?? []) {
    if (e.value !== undefined) args.push('-e', `${e.name}=${e.value}`);
    else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const value = o.secrets?.[name]?.[key];
      if (value === undefined || !o.clientEnv)
        throw new Error(`${container.name}: env ${e.name} needs secret ${name} key ${key} (and clientEnv)`);
      o.clientEnv[e.name] = value;
      args.push('-e', e.name);
    } else args.push('-e', `${e.name}=`);
  }
  for (const [k, v] of Object.entries(o.env ?? {})) args.push('-e', `${k}=${v}`);

  for (const m of container.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === m.name);
    if (!volume) throw new Error(`${container.name}: volumeMount ${m.name} has no volume`);
    if (m.subPath) throw new Error(`${container.name}: subPath is not translated`);
    const ro = m.readOnly ? ':ro' : '';
    if (volume.hostPath) {
      if (volume.hostPath.path !== '/data' && !volume.hostPath.path.startsWith('/data/'))
        throw new Error(`hostPath ${volume.hostPath.path} is not under the nodes' /data`);
      const dir = join(o.nodeDataDir, volume.hostPath.path.slice('/data'.length));
      if (volume.hostPath.type === 'DirectoryOrCreate') await mkdir(dir, { recursive: true });
      args.push('-v', `${dir}:${m.mountPath}${ro}`);
    } else if (volume.emptyDir) {
      // An emptyDir is an empty directory every uid of the pod may write (mode 0777), executables allowed.
      args.push('--tmpfs', `${m.mountPath}:rw,exec,mode=1777`);
    } else if (o.volumeDirs?.[m.name]) {
      args.push(
        '-v',
        `${o.volumeDirs[m.name]}:${m.mountPath}${ro || (volume.secret || volume.configMap ? ':ro' : '')}`,
      );
    } else throw new Error(`${container.name}: volume ${m.name} is not translated`);
  }

  if (container.workingDir) args.push('-w', container.workingDir);
  const command = container.command ?? [];
  // A container's command replaces the image's ENTRYPOINT, its args the CMD.
  if (command.length) args.push('--entrypoint', command[0]!);
  if (!container.image) throw new Error(`${container.name}: no image`);
  args.push(container.image, ...command.slice(1), ...(container.args ?? []));
  return args;
}
