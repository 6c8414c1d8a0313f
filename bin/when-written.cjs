// What the launcher waits for before it exits (bin/keystone.cjs): everything written so far to
// each stream handed to the OS, or the stream failed. The callback of an empty write comes after
// those of every write before it, and also when the stream has failed; 'drain' would come only
// if a write had returned false, so a short tail still queued on an asynchronous stdout (a pipe on
// macOS, where Node's stdio pipes are asynchronous) would have been waited for forever.
'use strict';

/** @param {import('node:stream').Writable[]} streams */
function whenWritten(streams) {
  return Promise.all(streams.map((stream) => new Promise((resolve) => stream.write('', () => resolve())))).then(
    () => undefined,
  );
}

module.exports = { whenWritten };
