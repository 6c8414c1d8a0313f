/**
 * Which uid/gid a run's pod uses on the local k3d cluster. ./data is bind-mounted into the nodes
 * and then into the pod (hostPath), so the pod writes the run directory with the host's file
 * permissions: it must run as the user who owns that directory, and then the outputs belong to
 * that user, who can delete them. On Linux a fixed uid (the templates say 1000) only works for a
 * user whose uid happens to be 1000.
 *
 *   - a normal user: their own uid and gid;
 *   - under sudo (uid 0 with SUDO_UID/SUDO_GID, set by sudo for the invoking user): that user's
 *     uid/gid, and the run directory (created by root) is handed to them;
 *   - root without sudo: pods never run as root (the templates say runAsNonRoot), so the run runs
 *     as uid/gid 1000 and the run directory is handed to 1000; root can still read and delete it.
 */
import { chown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunAs {
  uid: number;
  gid: number;
  /** The run directory must be handed to this uid/gid (keystone itself runs as root). */
  chownRunDir: boolean;
  /** Why this uid, when it is not the invoking user's own. */
  note?: string;
}

/** The non-root uid/gid a run as root (without sudo) maps to. */
export const rootMappedId = 1000;

export interface ProcessIdentity {
  uid: number | undefined;
  gid: number | undefined;
  env: NodeJS.ProcessEnv;
}

/** This process's uid/gid, with the environment keystone was given (SUDO_UID/SUDO_GID). */
export function currentIdentity(env: NodeJS.ProcessEnv): ProcessIdentity {
  return { uid: process.getuid?.(), gid: process.getgid?.(), env };
}

const parseId = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : undefined;

/** undefined: no uids on this platform (Windows); the template's securityContext stays. */
export function runAsForLocalCluster(who: ProcessIdentity): RunAs | undefined {
  if (who.uid === undefined || who.gid === undefined) return undefined;
  if (who.uid !== 0) return { uid: who.uid, gid: who.gid, chownRunDir: false };
  const sudoUid = parseId(who.env.SUDO_UID);
  const sudoGid = parseId(who.env.SUDO_GID);
  if (sudoUid !== undefined && sudoUid !== 0 && sudoGid !== undefined) {
    return {
      uid: sudoUid,
      gid: sudoGid,
      chownRunDir: true,
      note: `under sudo: the run runs as uid ${sudoUid} (SUDO_UID), who owns its outputs`,
    };
  }
  return {
    uid: rootMappedId,
    gid: rootMappedId,
    chownRunDir: true,
    note: `keystone runs as root: the run runs as uid ${rootMappedId} (pods never run as root), which owns its outputs`,
  };
}

/** Hands a staged run directory (and everything in it) to the uid/gid the pod runs as. */
export async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  const info = await lstat(path);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) {
    const child = join(path, entry);
    if ((await lstat(child)).isSymbolicLink()) continue; // staging copies dereferenced; never follow one out
    await chownTree(child, uid, gid);
  }
}
