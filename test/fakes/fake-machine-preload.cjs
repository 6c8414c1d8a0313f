// Preloaded into every CLI a sandbox starts (NODE_OPTIONS=--require, set in the sandbox's env):
// statfs answers from the sandbox's fake machine (fake-machine.cjs), never from this host's disks.
// Without KEYSTONE_FAKE_DIR (not in a sandbox) it changes nothing.
'use strict';
const fs = require('node:fs');
const { freeBytesIn } = require('./fake-machine.cjs');

const fakeDir = process.env.KEYSTONE_FAKE_DIR;
if (fakeDir) {
  fs.promises.statfs = async function statfs(file, options) {
    const bsize = 4096;
    const bavail = Math.floor(freeBytesIn(fakeDir, String(file)) / bsize);
    const n = (v) => (options?.bigint ? BigInt(v) : v);
    return {
      type: n(0xef53),
      bsize: n(bsize),
      blocks: n(bavail * 2),
      bfree: n(bavail),
      bavail: n(bavail),
      files: n(1_000_000),
      ffree: n(500_000),
    };
  };
  require('node:module').syncBuiltinESMExports();
}
