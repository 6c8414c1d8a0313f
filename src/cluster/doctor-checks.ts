/**
 * Checks only `doctor` runs (setup's own pre-checks are in preflight.ts): that ./data can be
 * written, and that the context keystone will use is in the kubeconfig, in a private file.
 */
import { access, constants, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { looseMode } from '../kube/kubeconfig/files.js';
import { loadYaml } from '../yaml-module.js';
import type { CheckOutcome } from './preflight.js';

/** The data directory, or the directory setup creates it in, is writable. */
export async function dataDirectoryCheck(dir: string): Promise<CheckOutcome> {
  const existing = await stat(dir).then(
    () => dir,
    () => dirname(dir),
  );
  try {
    await access(existing, constants.W_OK);
  } catch {
    return {
      status: 'fail',
      detail: `${existing} is not writable`,
      hint: `make it writable: \`chmod u+w ${existing}\``,
    };
  }
  return { status: 'ok', detail: existing === dir ? `${dir} is writable` : `${dir} will be created by setup` };
}

export interface ContextCheckInput {
  /** The context keystone will use. */
  context: string;
  /** The kubeconfig files kubectl would read (kubeconfigFiles). */
  files: string[];
  /** The user named the context (--context): missing is then a failure, not a warning. */
  named: boolean;
  /** The context is keystone's own k3d cluster's (setup writes it); else another cluster's, which setup never writes. */
  local: boolean;
  /** The cluster does not exist (or its state is unknown): missing is expected before the first setup. */
  clusterAbsent: boolean;
}

/** The context is in one of the files, and no file holding credentials is readable by others. */
export async function kubeContextCheck({
  context,
  files,
  named,
  local,
  clusterAbsent,
}: ContextCheckInput): Promise<CheckOutcome> {
  const { parse } = await loadYaml();
  const warnings: string[] = [];
  let found: string | undefined;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const mode = await looseMode(file);
    if (mode !== undefined)
      warnings.push(`${file} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${file}\``);
    let doc: { contexts?: { name?: string }[] } | null;
    try {
      doc = parse(text) as typeof doc;
    } catch {
      return {
        status: 'fail',
        detail: `${file} is not valid YAML`,
        hint: 'kubectl refuses it too: fix or move it, or leave it out of KUBECONFIG',
      };
    }
    if (!found && doc?.contexts?.some((c) => c.name === context)) found = file;
  }
  if (!found) {
    // Missing is expected before the first setup; it is a failure when the cluster exists or was named.
    return {
      status: named || !clusterAbsent ? 'fail' : 'warn',
      detail: `context "${context}" is not in ${files.join(', ') || 'any kubeconfig'}`,
      hint: !local
        ? 'pass --context with a context in those files, or --kubeconfig FILE with the one you mean'
        : clusterAbsent
          ? '`keystone setup` creates the cluster and its context'
          : '`keystone setup` writes the context again (from `k3d kubeconfig get`)',
    };
  }
  if (warnings.length)
    return { status: 'warn', detail: `context "${context}" found in ${found}; ${warnings.join('; ')}` };
  return { status: 'ok', detail: `context "${context}" found in ${found}` };
}
