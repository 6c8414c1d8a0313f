/**
 * `keystone doctor`'s checks, in the order it shows them: the cluster config, the tools (Docker,
 * kubectl, k3d), setup's own pre-checks (setup/preflight.ts), the data directory and the kube
 * context. A check that throws is a failed check, never a crashed doctor.
 */
import type { LoadedClusterConfig } from '../cluster/config.js';
import type { KubeTarget } from '../kube/target.js';
import type { PreflightContext } from '../setup/context.js';
import { KeystoneError } from '../errors.js';
import { findK3d, requireDocker, requireK3dVersion, requireKubectl } from '../cluster/prerequisites.js';
import type { CheckOutcome } from '../cluster/preflight.js';
import { dataDirectoryCheck, kubeContextCheck } from '../cluster/doctor-checks.js';
import { preflightChecks } from '../setup/preflight.js';
import { observeCluster, type ClusterState } from '../cluster/state.js';
import { k3dFindCluster } from '../tools/k3d.js';
import { formatVersion } from '../tools/versions.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { stackNamespace } from '../vocabulary.js';

export type { CheckStatus } from '../cluster/preflight.js';

export interface CheckResult extends CheckOutcome {
  name: string;
}

async function check(name: string, body: () => Promise<Omit<CheckResult, 'name'>>): Promise<CheckResult> {
  try {
    return { name, ...(await body()) };
  } catch (err) {
    if (err instanceof KeystoneError)
      return { name, status: 'fail', detail: err.message, ...(err.hint ? { hint: err.hint } : {}) };
    return { name, status: 'fail', detail: (err as Error).message };
  }
}

/** What doctor reads: the tools, the cluster config, the target (or the context named), the data directory and the pre-checks' inputs. */
export interface DoctorContext extends PreflightContext {
  paths: PreflightContext['paths'] & { dataDir: string };
  options: { context?: string };
  clusterConfig(): Promise<LoadedClusterConfig>;
  target(): Promise<KubeTarget>;
  /** The API client of the target (the `kubernetes API` check). */
  client(): Promise<KubeClient>;
}

export async function runChecks(app: DoctorContext): Promise<CheckResult[]> {
  const configCheck = await check('cluster config', async () => {
    const loaded = await app.clusterConfig();
    return {
      status: 'ok',
      detail: `${loaded.path} is valid (${loaded.config.servers} servers, ${loaded.config.agents} agents)`,
    };
  });
  const loaded = configCheck.status === 'ok' ? await app.clusterConfig() : undefined;
  // Without a valid config there is no cluster name to check against (never a guessed default).
  const clusterName = loaded?.config.metadata.name;

  let clusterState: ClusterState | undefined;
  const k3dCheck = check('k3d', async () => {
    const version = await findK3d(app.runner, app.env);
    if (!version)
      return {
        status: 'fail',
        detail: 'k3d is not installed',
        hint: '`keystone setup` installs it (checksum-verified), or see https://k3d.io/#installation',
      };
    requireK3dVersion(version);
    try {
      if (clusterName) clusterState = observeCluster(clusterName, await k3dFindCluster(app.runner, clusterName));
    } catch {
      clusterState = undefined; // docker down: reported by the docker check
    }
    return { status: 'ok', detail: `k3d ${formatVersion(version)}` };
  });

  const results = await Promise.all([
    check('docker', async () => ({
      status: 'ok',
      detail: `Docker ${await requireDocker(app.runner, app.env)} is running`,
    })),
    check('kubectl', async () => ({
      status: 'ok',
      detail: `kubectl ${formatVersion(await requireKubectl(app.runner))}`,
    })),
    k3dCheck,
  ]);
  results.unshift(configCheck);

  // The same pre-checks setup runs before it creates anything (ports with their holders, disk, kubeconfig).
  if (loaded) {
    const pre = await preflightChecks(app, loaded, clusterState).catch((err: unknown) => [
      {
        name: 'pre-checks',
        status: 'fail' as const,
        detail: (err as Error).message,
        ...(err instanceof KeystoneError && err.hint ? { hint: err.hint } : {}),
      },
    ]);
    results.push(...pre);
  } else {
    results.push({ name: 'host ports', status: 'warn', detail: 'not checked: the cluster config is invalid' });
  }

  const context = await check('kube context', async () =>
    clusterName || app.options.context
      ? contextCheck(app, loaded !== undefined, clusterState)
      : { status: 'warn', detail: 'not checked: the cluster config is invalid, so the cluster name is unknown' },
  );
  results.push(await check('data directory', () => dataDirectoryCheck(app.paths.dataDir)), context);
  // A context that is there is not yet one that works: its server must answer, and accept the credentials.
  if (context.status !== 'fail' && (clusterName || app.options.context)) {
    results.push(await check('kubernetes API', () => apiCheck(app, loaded !== undefined, clusterState)));
  }
  return results;
}

/**
 * One authenticated read: the server answers and the credentials are accepted (401 and 403 say
 * so; 404, a namespace not made yet, is an answer too). A stopped or absent k3d cluster's API
 * cannot answer: that is said by the k3d check, not failed twice.
 */
async function apiCheck(
  app: DoctorContext,
  configValid: boolean,
  state: ClusterState | undefined,
): Promise<CheckOutcome> {
  const target = configValid || app.options.context ? await app.target() : undefined;
  if (!target) return { status: 'warn', detail: 'not checked: the cluster config is invalid' };
  if (target.local && state?.phase !== 'running')
    return { status: 'warn', detail: `not checked: the cluster is ${state ? state.phase : 'not known to k3d'}` };
  const client = await app.client();
  try {
    await client.request({ path: `/api/v1/namespaces/${stackNamespace}`, retry: false });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
  }
  return {
    status: 'ok',
    detail: `${client.server} answers and accepts the credentials of context "${target.context}"`,
  };
}

/** The kube context check for the target: the context keystone will use, in the files it reads. */
async function contextCheck(
  app: DoctorContext,
  configValid: boolean,
  state: ClusterState | undefined,
): Promise<CheckOutcome> {
  // The target needs the config's cluster name; with --context and an invalid config the context
  // to look for is still known (the one the user named).
  const target = configValid ? await app.target() : undefined;
  return kubeContextCheck({
    context: target?.context ?? app.options.context!,
    files: (target?.kubeconfig ?? app.kubeconfigs).files,
    named: Boolean(app.options.context),
    // With an invalid config the k3d cluster's name is unknown: a named context is taken as another cluster's.
    local: target?.local ?? false,
    clusterAbsent: state === undefined || state.phase === 'absent',
  });
}
