// Fake `docker`: the subset keystone calls, with the real CLI's output and failure modes.
import { loadState, logCall, sleep } from './fake-state.mjs';

const argv = process.argv.slice(2);
logCall('docker', argv);
const state = loadState();
const docker = state.docker ?? {};

if (docker.slowMs) await sleep(docker.slowMs);

const daemonDown = () => {
  // What docker prints with no engine behind the socket (checked against the real client).
  process.stderr.write('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n');
};

if (argv[0] === 'info') {
  const format = argv[argv.indexOf('--format') + 1];
  if (docker.down) {
    if (format) process.stdout.write('""\n');
    daemonDown();
    process.exit(1);
  }
  if (docker.permissionDenied) {
    process.stderr.write('permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/info": dial unix /var/run/docker.sock: connect: permission denied\n');
    process.exit(1);
  }
  process.stdout.write(format ? `${JSON.stringify(docker.serverVersion ?? '28.2.2')}\n` : `Server Version: ${docker.serverVersion ?? '28.2.2'}\n`);
  process.exit(0);
}

process.stderr.write(`docker: '${argv[0]}' is not a docker command.\nSee 'docker --help'\n`);
process.exit(1);
