/**
 * Filesystem errors as the user should read them: what keystone was doing, the system's reason
 * in words (not "EROFS"), and what to do about it. Anything that is not a filesystem error is
 * returned unchanged so the caller rethrows it.
 */
import { KeystoneError } from './errors.js';

const reasons: Record<string, { reason: string; hint: (path: string) => string }> = {
  EACCES: {
    reason: 'permission denied',
    hint: (p) => `check the permissions of ${p} (\`keystone doctor\` checks data/)`,
  },
  EPERM: {
    reason: 'operation not permitted',
    hint: (p) => `check the permissions and owner of ${p} (\`keystone doctor\` checks data/)`,
  },
  EROFS: {
    reason: 'read-only file system',
    hint: (p) =>
      `${p} is on a read-only file system; remount it read-write or work from a writable copy of the project`,
  },
  ENOSPC: {
    reason: 'no space left on device',
    hint: () => 'free some disk space (`df -h .`), e.g. `keystone jobs clean --purge-outputs --older-than 30d`',
  },
  EDQUOT: { reason: 'disk quota exceeded', hint: () => 'free some space within your quota' },
  ELOOP: {
    reason: 'too many levels of symbolic links (a symlink loop)',
    hint: (p) => `replace the looping symlink under ${p}`,
  },
  ENOENT: {
    reason: 'no such file or directory',
    hint: (p) => `${p} disappeared while keystone used it; check that nothing else removes it`,
  },
  ENOTDIR: { reason: 'not a directory', hint: (p) => `a part of ${p} is a file where a directory is expected` },
  EISDIR: { reason: 'is a directory', hint: (p) => `${p} is a directory where a file is expected` },
  EMFILE: { reason: 'too many open files', hint: () => 'raise the open-file limit (`ulimit -n`)' },
  ENAMETOOLONG: { reason: 'file name too long', hint: (p) => `shorten the names under ${p}` },
  EIO: { reason: 'input/output error', hint: (p) => `the disk holding ${p} reported an error; check it` },
};

export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (err as NodeJS.ErrnoException).code! in reasons
  );
}

/** `could not <doing>: read-only file system (data/lammps/runs)` with a hint; other errors unchanged. */
export function describeFsError(err: unknown, doing: string, shownPath: string): unknown {
  if (!isFsError(err)) return err;
  const known = reasons[err.code!]!;
  return new KeystoneError(`could not ${doing}: ${known.reason} (${shownPath})`, {
    hint: known.hint(shownPath),
    cause: err,
  });
}
