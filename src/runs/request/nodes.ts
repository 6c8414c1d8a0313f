/**
 * Runs across several nodes (--nodes K) go through the Kubeflow MPI Operator, not a launcher of
 * keystone's own: its MPIJob (kubeflow.org/v2beta1, pkg/apis/kubeflow/v2beta1/types.go) starts a
 * launcher that runs mpirun over SSH to K worker pods. This module checks a run across nodes can
 * be one: the cluster has the operator (or how to install it), the ranks split evenly, and the
 * run's directory is shared between nodes. build/mpijob.ts builds the MPIJob.
 */
import { UsageError } from '../../errors.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { printable } from '../../operate/names.js';

export const mpiOperator = {
  group: 'kubeflow.org',
  version: 'v2beta1',
  resource: 'mpijobs',
  /** The operator's README (kubeflow/mpi-operator, "Installation", release version; RELEASE.md: v0.8.1 was never out, v0.8.2 ships it). */
  install:
    'kubectl apply --server-side -f https://raw.githubusercontent.com/kubeflow/mpi-operator/v0.8.2/deploy/v2beta1/mpi-operator.yaml',
} as const;

export const maxNodes = 64;

export function parseNodes(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > maxNodes) {
    throw new UsageError(
      `--nodes "${printable(text)}" must be a whole number from 1 to ${maxNodes}`,
      'the number of nodes (pods) the MPI ranks are spread over',
    );
  }
  return Number(text);
}

/** Does the API server serve MPIJobs (kubeflow.org/v2beta1)? Read from discovery, as kubectl does. */
export async function hasMpiOperator(client: KubeClient): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: { name: string }[] }>({
      path: `/apis/${mpiOperator.group}/${mpiOperator.version}`,
    });
    return (list.resources ?? []).some((r) => r.name === mpiOperator.resource);
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return false;
    throw err;
  }
}

/**
 * --nodes K > 1, checked before anything is staged: N ranks split evenly over K workers (N/K
 * slots each), no sweep (a sweep is many runs, an MPIJob is one), and a cluster with the MPI
 * Operator; without it, refused (exit 2) with its install command.
 */
export async function checkNodes(
  client: KubeClient,
  nodes: number,
  o: { ranks: number; sweep: boolean; context: string },
): Promise<void> {
  if (nodes === 1) return;
  if (o.ranks < nodes)
    throw new UsageError(
      `--nodes ${nodes} with ${o.ranks} rank${o.ranks === 1 ? '' : 's'}: each node needs at least one rank`,
      `give --ranks ${nodes} or more`,
    );
  if (o.ranks % nodes !== 0) {
    const below = o.ranks - (o.ranks % nodes);
    throw new UsageError(
      `--ranks ${o.ranks} does not split evenly over --nodes ${nodes}: each node runs the same number of ranks`,
      `use --ranks ${below} or --ranks ${below + nodes}`,
    );
  }
  if (o.sweep)
    throw new UsageError(
      `--nodes ${nodes} with --sweep: a sweep's runs are separate pods already, and one run across nodes is one MPIJob`,
      'drop --nodes, or run each value on its own',
    );
  if (!(await hasMpiOperator(client))) {
    throw new UsageError(
      `--nodes ${nodes}: context ${o.context} has no MPI Operator (no MPIJob resource in ${mpiOperator.group}/${mpiOperator.version}), which runs MPI across nodes`,
      `install it: ${mpiOperator.install}   or run on one node: --ranks ${o.ranks} without --nodes`,
    );
  }
}

/**
 * The MPIJob's workers run ranks in the run directory the launcher prepared, on other nodes: it
 * must be one directory every node sees. The refusal (exit 2) for a run directory on one node's
 * volume; the run's storage raises it, since only it knows which volume the run gets.
 */
export function unsharedRunDirectory(
  run: { nodes: number; ranks: number },
  shown: string,
  context: string,
): UsageError {
  return new UsageError(
    `--nodes ${run.nodes} on context ${context}: the run directory (${shown}) is not shared between nodes, and ranks on other nodes would not see the input or each other's files`,
    `a run across nodes needs a ReadWriteMany volume that every node mounts; run on one node: --ranks ${run.ranks} without --nodes`,
  );
}
