// The machine a sandbox's keystone sees (src/machine.ts), decided by the test, never the host's:
// the free space of its file systems comes from the sandbox's fake state, "machine.disks" in
// state.json: { "<mount point>": <free bytes> }. A path is on the longest mount point that holds
// it; a path under none is not on this machine, and statfs says ENOENT, as it does for a path that
// does not exist (what keystone sees for Docker Desktop's DockerRootDir, inside its VM).
//
// Two ways in, one answer: the harness gives fakeMachine(dir) to main() in process, and every CLI
// the sandbox spawns preloads fake-machine-preload.cjs (NODE_OPTIONS in the sandbox's env), which
// puts the same answer behind fs.promises.statfs, the call src/machine.ts makes.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const GiB = 1024 ** 3;
/** Unless a test says otherwise: one file system with room for every image (setup's disk check passes). */
const defaultDisks = { '/': 500 * GiB };

function disksOf(fakeDir) {
  let state = {};
  try {
    state = JSON.parse(fs.readFileSync(path.join(fakeDir, 'state.json'), 'utf8'));
  } catch {
    // no state yet: the defaults
  }
  return state.machine?.disks ?? defaultDisks;
}

function notOnThisMachine(file) {
  const err = new Error(`ENOENT: no such file or directory, statfs '${file}'`);
  return Object.assign(err, { errno: -os.constants.errno.ENOENT, code: 'ENOENT', syscall: 'statfs', path: file });
}

/** Free bytes on the fake file system holding `file`; throws ENOENT for a path on none. */
function freeBytesIn(fakeDir, file) {
  const disks = disksOf(fakeDir);
  const resolved = path.resolve(file);
  const mount = Object.keys(disks)
    .filter((m) => resolved === m || resolved.startsWith(m.endsWith('/') ? m : `${m}/`))
    .sort((a, b) => b.length - a.length)[0];
  if (mount === undefined) throw notOnThisMachine(String(file));
  return Number(disks[mount]);
}

/** src/machine.ts's Machine for a sandbox's fake directory. */
function fakeMachine(fakeDir) {
  return { freeBytes: async (file) => freeBytesIn(fakeDir, file) };
}

module.exports = { fakeMachine, freeBytesIn, GiB };
