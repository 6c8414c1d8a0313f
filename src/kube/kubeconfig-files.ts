/** Which kubeconfig files are in play, and whether one holding credentials is open to others. */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** --kubeconfig, else every file KUBECONFIG lists, else ~/.kube/config (kubectl's order). */
export function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (explicit) return [explicit];
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  return listed.length ? listed : [join(homedir(), '.kube', 'config')];
}

/** The file's permission bits when group or others may read or write it; undefined otherwise (or when it is missing). */
export async function looseMode(file: string): Promise<number | undefined> {
  try {
    const mode = (await stat(file)).mode & 0o777;
    return mode & 0o077 ? mode : undefined;
  } catch {
    return undefined; // a listed file that does not exist is skipped, as kubectl does
  }
}
