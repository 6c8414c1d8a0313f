/** `keystone doctor`: every prerequisite and environment check, each with a fix when it fails. */
import { access, constants, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { kubeconfigFiles, looseMode } from '../kube/kubeconfig-files.js';
import type { AppContext } from '../app-context.js';
import { KeystoneError } from '../errors.js';
import { findK3d, requireDocker, requireK3dVersion, requireKubectl } from '../cluster/prerequisites.js';
import type { CheckOutcome } from '../cluster/preflight.js';
import { preflightChecks } from '../setup/preflight.js';
import { observeCluster, type ClusterState } from '../cluster/state.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { formatVersion } from '../tools/versions.js';
import { loadYaml } from '../yaml-module.js';

export type { CheckStatus } from '../cluster/preflight.js';

export interface CheckResult extends CheckOutcome {
  name: string;
}

async function check(name: string, body: () => Promise<Omit<CheckResult, 'name'>>): Promise<CheckResult> {
  try {
    return { name, ...(await body()) };
  } catch (err) {
    if (err instanceof KeystoneError) return { name, status: 'fail', detail: err.message, ...(err.hint ? { hint: err.hint } : {}) };
    return { name, status: 'fail', detail: (err as Error).message };
  }
}

export async function runChecks(app: AppContext): Promise<CheckResult[]> {
  const configCheck = await check('cluster config', async () => {
    const loaded = await app.clusterConfig();
    return { status: 'ok', detail: `${loaded.path} is valid (${loaded.config.servers} servers, ${loaded.config.agents} agents)` };
  });
  const loaded = configCheck.status === 'ok' ? await app.clusterConfig() : undefined;
  // Without a valid config there is no cluster name to check against (never a guessed default).
  const clusterName = loaded?.config.metadata.name;

  let clusterState: ClusterState | undefined;
  const k3dCheck = check('k3d', async () => {
    const version = await findK3d(app.runner, app.env);
    if (!version) return { status: 'fail', detail: 'k3d is not installed', hint: '`keystone setup` installs it (checksum-verified), or see https://k3d.io/#installation' };
    requireK3dVersion(version);
    try {
      if (clusterName) clusterState = observeCluster(clusterName, await k3dFindCluster(app.runner, clusterName));
    } catch {
      clusterState = undefined; // docker down: reported by the docker check
    }
    return { status: 'ok', detail: `k3d ${formatVersion(version)}` };
  });

  const results = await Promise.all([
    check('docker', async () => ({ status: 'ok', detail: `Docker ${await requireDocker(app.runner, app.env)} is running` })),
    check('kubectl', async () => ({ status: 'ok', detail: `kubectl ${formatVersion(await requireKubectl(app.runner))}` })),
    k3dCheck,
  ]);
  results.unshift(configCheck);

  // The same pre-checks setup runs before it creates anything (ports with their holders, disk, kubeconfig).
  if (loaded) {
    const pre = await preflightChecks(app, loaded, clusterState).catch((err: unknown) => [
      { name: 'pre-checks', status: 'fail' as const, detail: (err as Error).message, ...(err instanceof KeystoneError && err.hint ? { hint: err.hint } : {}) },
    ]);
    results.push(...pre);
  } else {
    results.push({ name: 'host ports', status: 'warn', detail: 'not checked: the cluster config is invalid' });
  }

  results.push(
    await check('data directory', async () => {
      const dir = app.paths.dataDir;
      const existing = await stat(dir).then(() => dir, () => dirname(dir));
      try {
        await access(existing, constants.W_OK);
      } catch {
        return { status: 'fail', detail: `${existing} is not writable`, hint: `make it writable: \`chmod u+w ${existing}\`` };
      }
      return { status: 'ok', detail: existing === dir ? `${dir} is writable` : `${dir} will be created by setup` };
    }),
    await check('kube context', async () =>
      clusterName || app.options.context
        ? kubeContextCheck(app, loaded !== undefined, clusterState)
        : { status: 'warn', detail: 'not checked: the cluster config is invalid, so the cluster name is unknown' },
    ),
  );
  return results;
}

/** The context keystone will use is in the kubeconfig, and the file holding credentials is private. */
async function kubeContextCheck(app: AppContext, configValid: boolean, state: ClusterState | undefined): Promise<Omit<CheckResult, 'name'>> {
  // The target needs the config's cluster name; with --context and an invalid config the context
  // to look for is still known (the one the user named).
  const target = configValid ? await app.target() : undefined;
  const context = target?.context ?? app.options.context!;
  const files = kubeconfigFiles(target?.kubeconfigPath ?? app.options.kubeconfig, app.env);
  const { parse } = await loadYaml();
  const { readFile } = await import('node:fs/promises');
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
    if (mode !== undefined) warnings.push(`${file} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${file}\``);
    let doc: { contexts?: { name?: string }[] } | null;
    try {
      doc = parse(text) as typeof doc;
    } catch {
      return { status: 'fail', detail: `${file} is not valid YAML`, hint: 'kubectl refuses it too: fix or move it, or leave it out of KUBECONFIG' };
    }
    if (!found && doc?.contexts?.some((c) => c.name === context)) found = file;
  }
  if (!found) {
    // Missing is expected before the first setup; it is a failure when the cluster exists or was named.
    const absent = state === undefined || state.phase === 'absent';
    return {
      status: app.options.context || !absent ? 'fail' : 'warn',
      detail: `context "${context}" is not in ${files.join(', ') || 'any kubeconfig'}`,
      hint: absent ? '`keystone setup` creates the cluster and its context' : '`keystone setup` writes the context again (from `k3d kubeconfig get`)',
    };
  }
  if (warnings.length) return { status: 'warn', detail: `context "${context}" found in ${found}; ${warnings.join('; ')}` };
  return { status: 'ok', detail: `context "${context}" found in ${found}` };
}

export async function doctor(app: AppContext, output: string | undefined): Promise<number> {
  const results = await runChecks(app);
  const failed = results.filter((r) => r.status === 'fail').length;
  if (output === 'json' || output === 'yaml') {
    await app.ui.document({ ok: failed === 0, checks: results }, output);
  } else {
    const c = app.ui.color;
    const mark = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗') };
    const lines = results.map((r) => `${mark[r.status]} ${r.name}: ${r.detail}${r.hint && r.status !== 'ok' ? `\n    ${c.cyan('fix:')} ${r.hint}` : ''}`);
    lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`);
    app.ui.data(lines.join('\n'));
  }
  return failed === 0 ? 0 : 1;
}
