// Preloaded (`node --require`) by test/cli/completion-fast-path.test.ts: writes which files and
// Node built-ins the process loaded to KEYSTONE_TEST_RECORD_LOADED as it exits (the launcher ends
// with process.exit, so that is wrapped too).
'use strict';
const record = () => {
  const builtins = process.moduleLoadList
    .filter((m) => m.startsWith('NativeModule '))
    .map((m) => m.slice('NativeModule '.length));
  require('node:fs').writeFileSync(
    process.env.KEYSTONE_TEST_RECORD_LOADED,
    JSON.stringify({ files: Object.keys(require.cache), builtins }),
  );
};
const exit = process.exit;
process.exit = (code) => {
  record();
  return exit.call(process, code);
};
process.once('exit', record);
