// Filesystem faults for CLI tests, loaded with NODE_OPTIONS=--require. Tests usually run as root
// (chmod cannot refuse root) and cannot mount a read-only or full file system portably, so this
// makes chosen fs/promises calls fail exactly as the kernel would report it through Node: an
// Error with code, errno, syscall and path, message "EROFS: read-only file system, mkdir '…'".
// KEYSTONE_FS_FAULTS="mkdir:EROFS:/data/lammps/runs,rm:EROFS:/runs/" — function:code:path substring.
'use strict';
const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');
const os = require('node:os');

const reasons = { EROFS: 'read-only file system', EACCES: 'permission denied', ENOSPC: 'no space left on device' };
const faults = (process.env.KEYSTONE_FS_FAULTS || '')
  .split(',')
  .filter(Boolean)
  .map((f) => {
    const [fn, code, ...rest] = f.split(':');
    return { fn, code, match: rest.join(':') };
  });

for (const { fn, code, match } of faults) {
  const original = fs.promises[fn];
  if (typeof original !== 'function') throw new Error(`fs-faults: no fs.promises.${fn}`);
  fs.promises[fn] = async function (path, ...args) {
    if (String(path).includes(match)) {
      const syscall = fn === 'rm' ? 'rmdir' : fn;
      const err = new Error(`${code}: ${reasons[code] ?? code}, ${syscall} '${path}'`);
      Object.assign(err, { errno: -os.constants.errno[code], code, syscall, path: String(path) });
      throw err;
    }
    return original.call(this, path, ...args);
  };
}
syncBuiltinESMExports();
