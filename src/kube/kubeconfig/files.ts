/**
 * Which kubeconfig files are in play, which one kubectl writes to, and whether one holding
 * credentials is open to others. The rules are client-go's (kubernetes/client-go
 * tools/clientcmd/loader.go NewDefaultClientConfigLoadingRules; config.go PathOptions).
 */
// Synchronous reads of small local files: cheaper than loading Node's fs/promises, which
// every TAB would pay for (docs/performance.md).
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * --kubeconfig, else every file KUBECONFIG lists (empty entries dropped, each path once:
 * client-go's `deduplicate(filepath.SplitList(...))`), else ~/.kube/config.
 */
export function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (explicit) return [explicit];
  const listed = [...new Set((env.KUBECONFIG ?? '').split(delimiter).filter(Boolean))];
  return listed.length ? listed : [join(env.HOME || homedir(), '.kube', 'config')];
}

/** The kubeconfig files a command reads, found once per command (target-context.ts) and read from there. */
export interface Kubeconfigs {
  /** --kubeconfig: the one file that must exist; undefined when the list is KUBECONFIG's or the default. */
  explicit: string | undefined;
  /** The files in kubectl's order (kubeconfigFiles). */
  files: string[];
}

export function findKubeconfigs(explicit: string | undefined, env: NodeJS.ProcessEnv): Kubeconfigs {
  return { explicit, files: kubeconfigFiles(explicit, env) };
}

/**
 * The file kubectl writes a new entry to, given kubeconfigFiles(): the explicit file, else the
 * first listed file that exists, else the LAST listed one, which is then created. That is
 * PathOptions.GetDefaultFilename (client-go tools/clientcmd/config.go), which `kubectl config
 * set-*` use through ModifyConfig, checked against kubectl 1.33 (test/unit/kubeconfig-lists.test.ts);
 * ClientConfigLoadingRules.GetDefaultFilename in loader.go would pick the first instead.
 * (An empty KUBECONFIG entry is never chosen: kubectl would try to write a file named "".)
 */
export async function defaultKubeconfigFile(files: readonly string[]): Promise<string> {
  for (const file of files) {
    try {
      statSync(file);
      return file;
    } catch {
      // not there: kubectl goes on to the next one
    }
  }
  return files[files.length - 1]!;
}

/** The file's permission bits when group or others may read or write it; undefined otherwise (or when it is missing). */
export async function looseMode(file: string): Promise<number | undefined> {
  try {
    const mode = statSync(file).mode & 0o777;
    return mode & 0o077 ? mode : undefined;
  } catch {
    return undefined; // a listed file that does not exist is skipped, as kubectl does
  }
}
