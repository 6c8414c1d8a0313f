// Fake `kubectl`: version reporting (keystone's prerequisite check).
import { loadState, logCall } from './fake-state.mjs';

/**
 * kubectl is a Go program: a write to stdout that fails with EPIPE kills it with SIGPIPE (Go's
 * os/signal package documentation, "SIGPIPE": a write to a broken pipe on file descriptors 1 or 2
 * makes the program exit with a SIGPIPE signal). Node ignores SIGPIPE, so the fake restores the
 * default action and sends it to itself.
 */
function writeOrDieOfSigpipe(text) {
  return new Promise((resolve) =>
    process.stdout.write(text, (err) => {
      if (err?.code !== 'EPIPE') return resolve(undefined);
      process.on('SIGPIPE', () => {});
      process.removeAllListeners('SIGPIPE'); // back to the default action: the process ends
      process.kill(process.pid, 'SIGPIPE');
    }),
  );
}

const argv = process.argv.slice(2);
await logCall('kubectl', argv);
const kubectl = loadState().kubectl ?? {};

if (argv[0] === 'version') {
  if (kubectl.versionOutput !== undefined) {
    process.stdout.write(kubectl.versionOutput);
    process.exit(0);
  }
  const gitVersion = kubectl.version ?? 'v1.32.4';
  const [major, minor] = gitVersion.replace(/^v/, '').split('.');
  process.stdout.write(
    `${JSON.stringify({ clientVersion: { major, minor, gitVersion, gitTreeState: 'clean', goVersion: 'go1.23.8', compiler: 'gc', platform: 'linux/amd64' }, kustomizeVersion: 'v5.5.0' }, null, 2)}\n`,
  );
  process.exit(0);
}

// kubectl [--kubeconfig F] --context C exec -it -n NS POD [-c C] -- CMD...
const execAt = argv.indexOf('exec');
if (execAt >= 0) {
  const dash = argv.indexOf('--');
  const command = argv.slice(dash + 1);
  await writeOrDieOfSigpipe(`fake exec in ${argv[argv.indexOf('-n') + 2]}: ${command.join(' ')}\n`);
  process.exit(kubectl.execExitCode ?? 0);
}

process.stderr.write(`error: unknown command "${argv[0]}" for "kubectl"\n`);
process.exit(1);
