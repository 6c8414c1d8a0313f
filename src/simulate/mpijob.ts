/**
 * Runs across several nodes (--nodes K) go through the Kubeflow MPI Operator, not a launcher of
 * keystone's own: its MPIJob (kubeflow.org/v2beta1, pkg/apis/kubeflow/v2beta1/types.go) starts a
 * launcher that runs mpirun over SSH to K worker pods. This module finds out whether the cluster
 * has it, and says how to install it when not.
 */
import { UsageError } from '../errors.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { printable } from '../operate/names.js';

export const mpiOperator = {
  group: 'kubeflow.org',
  version: 'v2beta1',
  resource: 'mpijobs',
  /** The operator's README (kubeflow/mpi-operator, "Installation", release version). */
  install: 'kubectl apply --server-side -f https://raw.githubusercontent.com/kubeflow/mpi-operator/v0.8.1/deploy/v2beta1/mpi-operator.yaml',
} as const;

export const maxNodes = 64;

export function parseNodes(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > maxNodes) {
    throw new UsageError(`--nodes "${printable(text)}" must be a whole number from 1 to ${maxNodes}`, 'the number of nodes (pods) the MPI ranks are spread over');
  }
  return Number(text);
}

/** Does the API server serve MPIJobs (kubeflow.org/v2beta1)? Read from discovery, as kubectl does. */
export async function hasMpiOperator(client: KubeClient): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: { name: string }[] }>({ path: `/apis/${mpiOperator.group}/${mpiOperator.version}` });
    return (list.resources ?? []).some((r) => r.name === mpiOperator.resource);
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return false;
    throw err;
  }
}

/**
 * --nodes K > 1: refused (exit 2) on a cluster without the MPI Operator, with its install
 * command; on a cluster with it, refused too for now, saying what is missing: the operator's
 * workers run an SSH server that the launcher's mpirun logs into (its examples/v2beta1/pi build
 * an image with openssh-server and run sshd as the worker's command), and keystone's images
 * have none yet. Adding one is not enough: on the local cluster pods run as the invoking user's
 * uid (run-as.ts), which is not in the image's /etc/passwd, and sshd refuses logins for a uid it
 * cannot look up; the operator's base image (build/base/Dockerfile) creates a fixed "mpiuser".
 */
export async function checkNodes(client: KubeClient, nodes: number, o: { ranks: number; context: string }): Promise<void> {
  if (nodes === 1) return;
  if (o.ranks < nodes) throw new UsageError(`--nodes ${nodes} with ${o.ranks} rank${o.ranks === 1 ? '' : 's'}: each node needs at least one rank`, `give --ranks ${nodes} or more`);
  if (!(await hasMpiOperator(client))) {
    throw new UsageError(
      `--nodes ${nodes}: context ${o.context} has no MPI Operator (no MPIJob resource in ${mpiOperator.group}/${mpiOperator.version}), which runs MPI across nodes`,
      `install it: ${mpiOperator.install}   or run on one node: --ranks ${o.ranks} without --nodes`,
    );
  }
  throw new UsageError(
    `--nodes ${nodes}: the cluster has the MPI Operator, but keystone's images have no SSH server for its worker pods, so keystone does not submit MPIJobs yet`,
    `run on one node: --ranks ${o.ranks} without --nodes`,
  );
}
