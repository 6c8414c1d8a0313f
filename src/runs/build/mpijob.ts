/**
 * A run across nodes as an MPIJob of the Kubeflow MPI Operator (kubeflow/mpi-operator v0.8.2,
 * pkg/apis/kubeflow/v2beta1/types.go), built from the Job the run would be on one node, so the
 * template's pod (image, uid, volumes, the storage's options, env) is the same in every pod:
 *   - the launcher runs the profile's parallel command (mpirun -np N ...) through keystone-mpi
 *     (images/mpi/keystone-mpi), which names the pod's uid for ssh; mpirun reads the operator's
 *     hostfile (OMPI_MCA_orte_default_hostfile / HYDRA_HOST_FILE, set on the launcher by
 *     pkg/controller/mpi_job_controller.go newLauncherPodTemplate) and starts the ranks over SSH;
 *   - K workers run sshd as that uid (keystone-mpi sshd), each with N/K slots and N/K ranks' CPU.
 * What the operator does with this object is in mpi_job_controller.go (and test/fakes/mpi-operator.mjs).
 */
import type { JobObject, MpiImplementation, MpiJobObject } from '../../kube/objects.js';

type PodTemplate = JobObject['spec']['template'];

/** The script in each simulation image (images/*\/Dockerfile COPY mpi/keystone-mpi). */
export const mpiEntrypoint = 'keystone-mpi';
/** The workers' sshd port (keystone-mpi; the images' ssh_config says the same). */
export const sshPort = 2222;
/** HOME in keystone's images (images/*\/Dockerfile ENV HOME): ssh looks for the key in $HOME/.ssh. */
export const imageHome = '/home/sim';

export interface MpiJobOptions {
  nodes: number;
  ranks: number;
  /** CPU request and limit of each worker (its ranks' CPU). */
  workerCpus: string;
  mpiImplementation: MpiImplementation;
}

export function buildMpiJob(job: JobObject, o: MpiJobOptions): MpiJobObject {
  const launcher = replicaTemplate(job);
  const main = launcher.spec.containers[0]!;
  main.command = [mpiEntrypoint, ...(main.command ?? [])];

  const worker = replicaTemplate(job);
  const sshd = worker.spec.containers[0]!;
  sshd.command = [mpiEntrypoint, 'sshd'];
  sshd.resources = {
    requests: { ...sshd.resources?.requests, cpu: o.workerCpus },
    limits: { ...sshd.resources?.limits, cpu: o.workerCpus },
  };
  // Ready once sshd listens: the launcher is created only then (launcherCreationPolicy below).
  sshd.readinessProbe = { tcpSocket: { port: sshPort }, periodSeconds: 2 };
  // The launcher's pod prepares the run directory (an init container staging the input, if any);
  // the workers only run ranks in it.
  delete worker.spec.initContainers;

  return {
    apiVersion: 'kubeflow.org/v2beta1',
    kind: 'MPIJob',
    metadata: {
      name: job.metadata?.name,
      namespace: job.metadata?.namespace,
      labels: { ...job.metadata?.labels },
      annotations: { ...job.metadata?.annotations },
    },
    spec: {
      slotsPerWorker: o.ranks / o.nodes,
      runPolicy: {
        // Workers' sshd still running when the launcher ends are deleted; finished pods and their logs stay.
        cleanPodPolicy: 'Running',
        ...(job.spec.backoffLimit !== undefined ? { backoffLimit: job.spec.backoffLimit } : {}),
        ...(job.spec.activeDeadlineSeconds !== undefined
          ? { activeDeadlineSeconds: job.spec.activeDeadlineSeconds }
          : {}),
      },
      // Never: a failed launcher is a failed run, retried only as --retries says (backoffLimit);
      // the operator's default for the launcher is OnFailure (v2beta1/constants.go).
      mpiReplicaSpecs: {
        Launcher: { replicas: 1, restartPolicy: 'Never', template: launcher },
        Worker: { replicas: o.nodes, restartPolicy: 'Never', template: worker },
      },
      // The operator mounts the Secret's key pair here; 0600 only for /root/.ssh (setupSSHOnPod),
      // else the Secret's default 0644, owned by root, which ssh accepts for another uid's key.
      sshAuthMountPath: `${imageHome}/.ssh`,
      launcherCreationPolicy: 'WaitForWorkersReady',
      mpiImplementation: o.mpiImplementation,
    },
  };
}

/** The run Job's pod template for a replica: the simulation container first (the operator sets up Containers[0]). */
function replicaTemplate(job: JobObject): PodTemplate {
  const pod = structuredClone(job.spec.template);
  const i = pod.spec.containers.findIndex((c) => c.name === 'simulation');
  if (i > 0) pod.spec.containers.unshift(...pod.spec.containers.splice(i, 1));
  // The operator sets the pod's restartPolicy from the replica spec and warns when the template
  // has one (newLauncherPodTemplate, SetPodTemplateRestartPolicy).
  delete pod.spec.restartPolicy;
  return pod;
}

/**
 * A run's MPIJob as the Job-shaped view the rest of keystone reads (name, labels, annotations, the
 * launcher's pod, conditions, and runPolicy.suspend as a Job's suspend: a cancelled run is both).
 */
export function mpiJobAsJob(m: MpiJobObject): JobObject {
  return {
    apiVersion: m.apiVersion,
    kind: m.kind,
    metadata: m.metadata,
    spec: {
      template: m.spec.mpiReplicaSpecs.Launcher.template,
      ...(m.spec.runPolicy.backoffLimit !== undefined ? { backoffLimit: m.spec.runPolicy.backoffLimit } : {}),
      ...(m.spec.runPolicy.suspend ? { suspend: true } : {}),
    },
    status: {
      ...(m.status?.startTime ? { startTime: m.status.startTime } : {}),
      ...(m.status?.completionTime ? { completionTime: m.status.completionTime } : {}),
      active: m.status?.replicaStatuses?.Launcher?.active ?? 0,
      conditions: m.status?.conditions ?? [],
    },
  };
}
