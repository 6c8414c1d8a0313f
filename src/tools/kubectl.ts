/** Typed calls to the kubectl CLI (keystone needs it only for interactive exec and as users' own tool). */
import type { Runner } from '../exec/runner.js';
import { parseKubectlVersion, type Version } from './versions.js';

export async function kubectlClientVersion(runner: Runner): Promise<Version> {
  const result = await runner.run('kubectl', ['version', '--client', '-o', 'json'], { timeoutMs: 15_000 });
  return parseKubectlVersion(result.stdout);
}
