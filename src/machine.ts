/**
 * What keystone reads from the machine it runs on that is neither a process it starts (the
 * runner) nor a file it reads: today, the free space of a file system. One seam, so a test
 * decides what the machine looks like instead of reading the one it runs on (issue 28: a
 * check that read the host's free space failed the suite on a disk with less than 72 GiB free).
 */
import { statfs } from 'node:fs/promises';

export interface Machine {
  /**
   * Bytes an unprivileged user can still write on the file system that holds `path` (statfs's
   * f_bavail × f_bsize, what `df` shows as "Avail"). Throws as statfs does, e.g. ENOENT for a path
   * that is not on this machine.
   */
  freeBytes(path: string): Promise<number>;
}

export const localMachine: Machine = {
  async freeBytes(path) {
    const fs = await statfs(path);
    return fs.bavail * fs.bsize;
  },
};
