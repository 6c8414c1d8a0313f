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

// KEYSTONE_FS_HOLD="copyFile:/runs/:2" holds the 2nd matching call open, as a slow disk or a
// copy of thousands of files would: it writes `held` into KEYSTONE_FS_HOLD_DIR and waits until
// the test writes `release` there (a hold, so a test can interrupt that phase without sleeping).
if (process.env.KEYSTONE_FS_HOLD) {
  const [fn, match, nth] = process.env.KEYSTONE_FS_HOLD.split(':');
  const dir = process.env.KEYSTONE_FS_HOLD_DIR;
  const original = fs.promises[fn];
  if (typeof original !== 'function' || !dir)
    throw new Error('fs-faults: KEYSTONE_FS_HOLD needs fn:match:n and KEYSTONE_FS_HOLD_DIR');
  let seen = 0;
  fs.promises[fn] = async function (path, ...args) {
    if (String(path).includes(match) && ++seen === Number(nth)) {
      fs.writeFileSync(require('node:path').join(dir, 'held'), String(path));
      while (!fs.existsSync(require('node:path').join(dir, 'release'))) await new Promise((r) => setTimeout(r, 10));
    }
    return original.call(this, path, ...args);
  };
}
syncBuiltinESMExports();
