// Each test file runs in a vitest worker that inherits this host's environment. keystone itself
// never reads it in a test (main() gets the sandbox's env), but the libraries it loads in process
// may (ora's spinner asks TERM and CI whether the terminal shows Unicode), and so would any child a
// test starts without an env of its own. So the worker keeps only what vitest needs, a PATH of
// node's directory and the system's, and a fixed time zone: no DOCKER_HOST, KUBECONFIG, HOME, CI,
// NO_COLOR, TERM, proxy or locale of the machine reaches a test (docs/architecture.md, "What a
// test may read from the machine"). Opt-in knobs of the suite itself are kept.
import { dirname } from 'node:path';

const vitestOwn = /^(VITEST|VITE_|NODE_ENV$|TEST$|MODE$|DEV$|PROD$|SSR$|BASE_URL$)/;
const suiteKnobs = new Set(['KEYSTONE_REAL_KUBECTL', 'KEYSTONE_UPDATE_DOC_PICTURES', 'TMPDIR']);
for (const key of Object.keys(process.env)) {
  if (!vitestOwn.test(key) && !suiteKnobs.has(key)) delete process.env[key];
}
process.env.PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;
process.env.TZ = 'UTC';
