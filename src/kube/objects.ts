/**
 * The Kubernetes objects keystone reads and writes, as far as it reads them: one home for their
 * types (the API's own field names; kubernetes/api core/v1, apps/v1, batch/v1 types.go, and the
 * MPI Operator's kubeflow/mpi-operator v0.8.2 pkg/apis/kubeflow/v2beta1/types.go).
 */

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    uid?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface DeploymentObject extends KubeObject {
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface PodObject extends KubeObject {
  spec?: { nodeName?: string; containers?: { name: string; image: string }[] };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface ContainerStatus {
  name: string;
  image?: string;
  /** What the runtime ran: repo@sha256:… (its first RepoDigest), else the image ID (containerd CRI ContainerStatus). */
  imageID?: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: object;
    terminated?: { exitCode?: number; reason?: string; message?: string };
  };
  lastState?: { terminated?: { exitCode?: number; reason?: string } };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: { name: string; value?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  securityContext?: Record<string, unknown>;
  imagePullPolicy?: string;
  readinessProbe?: Record<string, unknown>;
}

export interface JobObject extends KubeObject {
  spec: {
    suspend?: boolean;
    backoffLimit?: number;
    backoffLimitPerIndex?: number;
    completions?: number;
    parallelism?: number;
    completionMode?: string;
    activeDeadlineSeconds?: number;
    selector?: unknown;
    manualSelector?: boolean;
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        containers: Container[];
        initContainers?: Container[];
        volumes?: Record<string, unknown>[];
        [key: string]: unknown;
      };
    };
  };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    startTime?: string;
    completionTime?: string;
    completedIndexes?: string;
    failedIndexes?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
  };
}

/** The MPI implementations the operator knows (v2beta1 types.go MPIImplementation). */
export const mpiImplementations = ['OpenMPI', 'Intel', 'MPICH'] as const;
export type MpiImplementation = (typeof mpiImplementations)[number];

type PodTemplate = JobObject['spec']['template'];

interface ReplicaSpec {
  replicas: number;
  restartPolicy: 'Always' | 'OnFailure' | 'Never' | 'ExitCode';
  template: PodTemplate;
}

export interface MpiJobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface MpiJobObject extends KubeObject {
  spec: {
    slotsPerWorker: number;
    runLauncherAsWorker?: boolean;
    runPolicy: {
      cleanPodPolicy?: 'All' | 'Running' | 'None';
      backoffLimit?: number;
      activeDeadlineSeconds?: number;
      ttlSecondsAfterFinished?: number;
      suspend?: boolean;
    };
    mpiReplicaSpecs: { Launcher: ReplicaSpec; Worker: ReplicaSpec };
    sshAuthMountPath: string;
    launcherCreationPolicy?: 'AtStartup' | 'WaitForWorkersReady';
    mpiImplementation: MpiImplementation;
  };
  status?: {
    conditions?: MpiJobCondition[];
    replicaStatuses?: Record<string, { active?: number; succeeded?: number; failed?: number }>;
    startTime?: string;
    completionTime?: string;
  };
}
