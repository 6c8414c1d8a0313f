// Fake `kubectl`: version reporting (keystone's prerequisite check).
import { loadState, logCall } from './fake-state.mjs';

const argv = process.argv.slice(2);
logCall('kubectl', argv);
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

process.stderr.write(`error: unknown command "${argv[0]}" for "kubectl"\n`);
process.exit(1);
