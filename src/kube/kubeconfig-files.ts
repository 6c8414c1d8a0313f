/**
 * Which kubeconfig files are in play, which one kubectl writes to, and whether one holding
 * credentials is open to others. The rules are client-go's (kubernetes/client-go
 * tools/clientcmd/loader.go): NewDefaultClientConfigLoadingRules, GetDefaultFilename.
 */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * --kubeconfig, else every file KUBECONFIG lists (empty entries dropped, each path once:
 * client-go's `deduplicate(filepath.SplitList(...))`), else ~/.kube/config.
 */
export function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (explicit) return [explicit];
  const listed = [...new Set((env.KUBECONFIG ?? '').split(delimiter).filter(Boolean))];
  return listed.length ? listed : [join(homedir(), '.kube', 'config')];
}

/**
 * The file kubectl writes a new entry to (client-go GetDefaultFilename), given kubeconfigFiles():
 * the explicit file, else the first listed file that exists, else the first listed (then created).
 */
export async function defaultKubeconfigFile(files: readonly string[]): Promise<string> {
  for (const file of files) {
    try {
      await stat(file);
      return file;
    } catch {
      // not there: kubectl goes on to the next one
    }
  }
  return files[0]!;
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
