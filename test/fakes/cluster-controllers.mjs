// The parts of a cluster that act on their own, for the fake API server: the Deployment
// controller (ReplicaSets, pods, status as `kubectl rollout status` reads it), a scheduler and
// kubelet (image pulls that follow the real pull-policy rules, ErrImagePull then
// ImagePullBackOff, CrashLoopBackOff, Unschedulable), the local-path provisioner
// (WaitForFirstConsumer: a claim binds when a pod using it is scheduled), the namespace
// lifecycle (Active, Terminating), the Job controller's suspend, and the MPI Operator (mpi-operator.mjs).
// What the controllers remember between events lives in the object attachControllers returns (its
// Maps, Sets and values), never in a closure's variable: a sandbox restored from a snapshot
// (sandbox.mjs, snapshotSandbox) gets it back from there.
import { createHash } from 'node:crypto';
import { podSecurityRefusal } from './pod-security.mjs';
import { attachMpiOperator } from './mpi-operator.mjs';

/** "redis:7" → "docker.io/library/redis:7"; "keystone/lammps:0.1.0" → "docker.io/keystone/lammps:0.1.0". */
export function normalizeImage(image) {
  let name = image;
  const first = name.split('/')[0];
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
  const lastSegment = name.split('/').pop();
  if (!lastSegment.includes(':') && !lastSegment.includes('@')) name = `${name}:latest`;
  return name;
}

/** "registry.example.com/lab/lammps:1.0" or "…@sha256:…" → "registry.example.com/lab/lammps". */
export function repositoryOf(image) {
  const name = normalizeImage(image).replace(/@sha256:[0-9a-f]*$/, '');
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
}

/** The digest a fake registry serves for a tag (the same for every test, unless registryTags moves it). */
export function defaultRegistryDigest(image) {
  return `sha256:${createHash('sha256')
    .update(`manifest:${normalizeImage(image)}`)
    .digest('hex')}`;
}

/** The kubelet's default: Always for :latest or untagged images, IfNotPresent otherwise. */
export function effectivePullPolicy(container) {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  const last = container.image.split('/').pop();
  const tag = last.includes(':') ? last.split(':').pop() : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Each fake node has this much allocatable memory; bigger requests are Unschedulable. */
const nodeMemoryBytes = 8 * 1024 ** 3;

function quantityBytes(q) {
  if (!q) return 0;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) return 0;
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * unit;
}

function millicores(q) {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(String(q ?? ''));
  if (!m) return 0;
  return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
}

// Keys sorted, as the real pod-template-hash (ComputeHash: a deep print with sorted map keys) does,
// so a template copied back by a rollback hashes to its old ReplicaSet.
const sorted = (v) =>
  Array.isArray(v)
    ? v.map(sorted)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sorted(v[k])]),
        )
      : v;
const shortHash = (value) =>
  createHash('sha256')
    .update(JSON.stringify(sorted(value)))
    .digest('hex')
    .slice(0, 10);
let podCounter = 0;
const podSuffix = () => (++podCounter).toString(36).padStart(5, '0');

/**
 * @param {any} api the fake API server
 * @param {{ podStartDelayMs?: number, unpullable?: string[], crashImages?: string[] }} [options]
 */
export function attachControllers(api, options = {}) {
  /** Images on every node (k3d image import puts them there). */
  const nodeImages = new Set();
  /** Their image IDs (Docker's, kept by the import), by name. */
  const imageIds = new Map();
  /** Images no registry serves: the locally built ones, unless imported. */
  const unpullable = new Set(
    (options.unpullable ?? ['keystone-celery-worker', 'fenicsx-toolbox', 'keystone/lammps', 'openfoam-toolbox']).map(
      (n) => normalizeImage(n).replace(/:latest$/, ''),
    ),
  );
  const crashImages = new Set((options.crashImages ?? []).map((n) => normalizeImage(n)));
  const controls = {
    /** How long a scheduled pod takes to start its containers (changeable while running). */
    podStartDelayMs: options.podStartDelayMs ?? 20,
    /** The local-path provisioner binds claims (turn off to leave them Pending). */
    bindVolumes: true,
    /**
     * How long the MPI Operator takes to act on an MPIJob change. A real controller acts after its
     * informer has seen the change (milliseconds to seconds later), never inside the API request;
     * 0 (the default) acts at once, which hides that window.
     */
    operatorLagMs: 0,
    /**
     * Whether the default StorageClass provisions ReadWriteMany claims. local-path does not
     * (rancher/local-path-provisioner provisioner.go: "NodePath only supports ReadWriteOnce and
     * ReadWriteOncePod (1.22+) access modes"): the claim stays Pending with a ProvisioningFailed
     * event, and its pod is never scheduled. An NFS or CephFS class does (set true).
     */
    readWriteMany: false,
    /** Where a bound ReadWriteOnce volume can be used: 'node' (local-path) or 'zone' (EBS, PD: any node here). */
    volumeTopology: 'node',
    /** Nodes with no CPU left for another pod (the scheduler's NodeResourcesFit: "Insufficient cpu"). */
    fullNodes: /** @type {string[]} */ ([]),
    /** The cluster has a default StorageClass (false: claims without a class are never provisioned). */
    defaultStorageClass: true,
    /** The default class's provisioner (events come from it); null: none runs, nobody answers. */
    provisioner: /** @type {string | null} */ ('rancher.io/local-path'),
    nodeImages,
    imageIds,
    /**
     * The registries' tags: a pullable "repo:tag" names this digest (default: one derived from the
     * name). Set an entry to move a tag; a digest the registry served once stays pullable unless
     * listed in deletedDigests.
     */
    registryTags: new Map(),
    deletedDigests: new Set(),
    /** Images the nodes pulled (set below). */
    pulled: new Map(),
    /** Reports the nodes' images in their status again (after a test changed nodeImages). */
    publishNodeImages: () => undefined,
    unpullable,
    crashImages,
    paused: false,
    /** The scheduler's round-robin position among the nodes. */
    nextNode: 0,
    /**
     * What a Job's pod does once its container runs: log lines, then an exit. Tests replace it.
     * @type {(pod: any, index: number | undefined) => { lines?: string[], exitCode?: number | null, reason?: string, lineDelayMs?: number, runMs?: number }}
     */
    program: (pod) => ({
      lines: [`running: ${(pod.spec.containers[0].command ?? []).concat(pod.spec.containers[0].args ?? []).join(' ')}`],
      exitCode: 0,
    }),
    /**
     * Records a core/v1 Event about an object as a component would (set below).
     * @type {(obj: any, type: 'Normal' | 'Warning', reason: string, message: string, component: string, host?: string) => void}
     */
    recordEvent: () => undefined,
  };

  const registryDigest = (image) => controls.registryTags.get(normalizeImage(image)) ?? defaultRegistryDigest(image);
  const isPullable = (image) => !unpullable.has(repositoryOf(image));

  /**
   * Node status.images as the kubelet reports them: per image, its RepoDigests then its RepoTags
   * (pkg/kubelet/nodestatus/setters.go Images). An imported image has its tag only (k3d's
   * `ctr image import` creates no digest name); a pulled one has "repo@sha256:…" first.
   */
  const publishNodeImages = () => {
    const entries = [...nodeImages].map((n) => ({ names: [n], sizeBytes: 1000000 }));
    for (const [name, digestName] of pulled)
      entries.push({ names: name === digestName ? [digestName] : [digestName, name], sizeBytes: 1000000 });
    for (const node of api.objects('nodes')) {
      const next = structuredClone(node);
      next.status = next.status ?? {};
      next.status.images = entries;
      if (JSON.stringify(next.status.images) !== JSON.stringify(node.status?.images)) api.update('nodes', next);
    }
  };
  /** Images the nodes pulled from a registry: reference as pulled → "repo@sha256:…". */
  const pulled = controls.pulled;
  controls.publishNodeImages = publishNodeImages;

  api.imageListeners.push((images, ids) => {
    for (const image of images) {
      nodeImages.add(normalizeImage(image));
      if (ids?.[image]) imageIds.set(normalizeImage(image), ids[image]);
    }
    publishNodeImages();
    // Pods waiting on a pull retry, as the kubelet's back-off does.
    for (const pod of api.objects('pods'))
      if (pod.spec.nodeName && pod.status?.phase === 'Pending')
        startContainers(pod.metadata.namespace, pod.metadata.name);
  });

  api.onChange((resource, type, obj) => {
    if (controls.paused) return;
    const ns = obj.metadata.namespace;
    if (resource === 'persistentvolumeclaims' && type === 'ADDED' && !obj.status?.phase) {
      api.update('persistentvolumeclaims', { ...obj, status: { phase: 'Pending' } });
    }
    if (resource === 'jobs' && type !== 'DELETED' && obj.spec?.suspend) suspendJob(ns, obj.metadata.name);
    if (resource === 'deployments' && type !== 'DELETED') reconcileDeployment(ns, obj.metadata.name);
    if (resource === 'jobs' && type !== 'DELETED' && !obj.spec?.suspend) reconcileJob(ns, obj.metadata.name);
    if (resource === 'jobs' && type === 'DELETED') {
      for (const p of api.objects('pods'))
        if (p.metadata.namespace === ns && p.metadata.labels?.['batch.kubernetes.io/job-name'] === obj.metadata.name)
          api.remove('pods', ns, p.metadata.name);
    }
    if (resource === 'pods') {
      const owner = obj.metadata.labels?.['fake.keystone/deployment'];
      if (owner) reconcileDeployment(ns, owner);
      const job = obj.metadata.labels?.['batch.kubernetes.io/job-name'];
      if (job && type !== 'ADDED') reconcileJob(ns, job);
      if (type === 'ADDED' && !obj.spec.nodeName) schedule(ns, obj.metadata.name);
      // A pod created with spec.nodeName skips the scheduler: that node's kubelet runs it. A node
      // that is gone or NotReady has no kubelet to: the pod stays Pending with no condition at all.
      else if (type === 'ADDED' && !obj.status?.phase) {
        api.update('pods', { ...obj, status: { phase: 'Pending', conditions: [] } });
        const node = api.get('nodes', undefined, obj.spec.nodeName);
        const kubelet = node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (kubelet) api.later(controls.podStartDelayMs, () => startContainers(ns, obj.metadata.name));
      }
    }
  });

  function reconcileDeployment(ns, name) {
    const d = api.get('deployments', ns, name);
    if (!d) return;
    const hash = shortHash(d.spec.template);
    const rsName = `${name}-${hash}`;
    // Revisions as the real deployment controller keeps them (kubernetes/kubernetes
    // pkg/controller/deployment/sync.go getNewReplicaSet, util/deployment_util.go
    // SetNewReplicaSetAnnotations, MaxRevision): the new ReplicaSet's revision is the old ones'
    // maximum + 1; a ReplicaSet whose template matches (a rollback) is reused and its revision
    // bumped; the Deployment carries its new ReplicaSet's revision; old ones are scaled to 0.
    // The Deployment's own annotations (kubernetes.io/change-cause among them) are copied onto its
    // new ReplicaSet, created or reused, all but these (util/deployment_util.go
    // SetNewReplicaSetAnnotations, copyDeploymentAnnotationsToReplicaSet, annotationsToSkip); a
    // reused ReplicaSet keeps its old revisions in revision-history.
    const skipCopy = new Set([
      'kubectl.kubernetes.io/last-applied-configuration',
      'deployment.kubernetes.io/revision',
      'deployment.kubernetes.io/revision-history',
      'deployment.kubernetes.io/desired-replicas',
      'deployment.kubernetes.io/max-replicas',
      'deprecated.deployment.rollback.to',
    ]);
    const copied = Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !skipCopy.has(k)));
    const owned = api
      .objects('replicasets')
      .filter((r) => r.metadata.namespace === ns && r.metadata.ownerReferences?.[0]?.name === name);
    const revisionOf = (r) => Number(r.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const newRevision = String(Math.max(0, ...owned.filter((r) => r.metadata.name !== rsName).map(revisionOf)) + 1);
    const want = d.spec.replicas ?? 1;
    const existing = api.get('replicasets', ns, rsName);
    if (!existing) {
      api.create('replicasets', {
        metadata: {
          name: rsName,
          namespace: ns,
          labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
          annotations: { ...copied, 'deployment.kubernetes.io/revision': newRevision },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata.uid, controller: true }],
        },
        spec: {
          replicas: want,
          selector: d.spec.selector,
          template: {
            ...d.spec.template,
            metadata: {
              ...d.spec.template.metadata,
              labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
            },
          },
        },
      });
    } else if (
      revisionOf(existing) < Number(newRevision) ||
      existing.spec.replicas !== want ||
      Object.entries(copied).some(([k, v]) => existing.metadata.annotations?.[k] !== v)
    ) {
      const old = existing.metadata.annotations?.['deployment.kubernetes.io/revision'];
      const revision = String(Math.max(revisionOf(existing), Number(newRevision)));
      const history =
        old !== undefined && old !== revision
          ? {
              'deployment.kubernetes.io/revision-history': [
                existing.metadata.annotations['deployment.kubernetes.io/revision-history'],
                old,
              ]
                .filter(Boolean)
                .join(','),
            }
          : {};
      api.update('replicasets', {
        ...existing,
        metadata: {
          ...existing.metadata,
          annotations: {
            ...existing.metadata.annotations,
            ...copied,
            ...history,
            'deployment.kubernetes.io/revision': revision,
          },
        },
        spec: { ...existing.spec, replicas: want },
      });
    }
    for (const r of owned)
      if (r.metadata.name !== rsName && r.spec.replicas !== 0)
        api.update('replicasets', { ...r, spec: { ...r.spec, replicas: 0 } });
    const rsRevision = api.get('replicasets', ns, rsName).metadata.annotations['deployment.kubernetes.io/revision'];
    if (d.metadata.annotations?.['deployment.kubernetes.io/revision'] !== rsRevision) {
      // A controller's write: metadata only, so generation stays (the status write below re-reads).
      api.update('deployments', {
        ...d,
        metadata: {
          ...d.metadata,
          annotations: { ...d.metadata.annotations, 'deployment.kubernetes.io/revision': rsRevision },
        },
      });
      return; // the update re-enters reconcileDeployment with the annotated object
    }
    const pods = api
      .objects('pods')
      .filter((p) => p.metadata.namespace === ns && p.metadata.labels?.['fake.keystone/deployment'] === name);
    const current = pods.filter((p) => p.metadata.labels['pod-template-hash'] === hash);
    const old = pods.filter((p) => p.metadata.labels['pod-template-hash'] !== hash);
    for (const p of old) api.remove('pods', ns, p.metadata.name);
    for (let i = current.length; i < want; i++) {
      api.create('pods', {
        metadata: {
          name: `${rsName}-${podSuffix()}`,
          namespace: ns,
          labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash, 'fake.keystone/deployment': name },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, controller: true }],
        },
        spec: structuredClone(d.spec.template.spec),
        status: { phase: 'Pending', conditions: [] },
      });
    }
    for (const p of current.slice(want)) api.remove('pods', ns, p.metadata.name);
    const live = api
      .objects('pods')
      .filter((p) => p.metadata.namespace === ns && p.metadata.labels?.['fake.keystone/deployment'] === name);
    const ready = live.filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    const updated = live.filter((p) => p.metadata.labels['pod-template-hash'] === hash).length;
    const complete = updated === want && ready === want && live.length === want;
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: live.length,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(want - ready > 0 ? { unavailableReplicas: want - ready } : {}),
      conditions: [
        {
          type: 'Available',
          status: ready >= want ? 'True' : 'False',
          reason: ready >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        },
        {
          type: 'Progressing',
          status: 'True',
          reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
          message: `ReplicaSet "${rsName}" ${complete ? 'has successfully progressed' : 'is progressing'}.`,
        },
      ],
    };
    if (JSON.stringify(d.status) !== JSON.stringify(status)) api.update('deployments', { ...d, status });
  }

  function jobPods(ns, name) {
    return api
      .objects('pods')
      .filter((p) => p.metadata.namespace === ns && p.metadata.labels?.['batch.kubernetes.io/job-name'] === name);
  }

  /**
   * A suspended Job, as the Job controller treats it (kubernetes/kubernetes
   * pkg/controller/job/job_controller.go): a finished Job is left alone (syncJob returns early on
   * IsJobFinished); manageJob deletes every active pod (deleteJobPods removes the tracking finalizer
   * first, so they are not counted in status.failed), status.active becomes 0 (omitempty: absent),
   * and syncJob sets the Suspended condition (ensureJobConditionStatus: appended, or updated in
   * place; the other conditions stay). status.startTime stays: it is set only while not suspended,
   * and only a resume resets it. Deleting a pod makes its kubelet SIGTERM the container; this fake
   * removes the pod at once.
   */
  function suspendJob(ns, name) {
    const job = api.get('jobs', ns, name);
    if (
      !job ||
      (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
    )
      return;
    for (const p of jobPods(ns, name))
      if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') api.remove('pods', ns, p.metadata.name);
    const current = api.get('jobs', ns, name);
    if (!current) return;
    const { active: _gone, ...status } = current.status ?? {};
    const conditions = status.conditions ?? [];
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const suspended = {
      type: 'Suspended',
      status: 'True',
      reason: 'JobSuspended',
      message: 'Job suspended',
      lastProbeTime: now,
      lastTransitionTime: now,
    };
    const old = conditions.find((c) => c.type === 'Suspended');
    status.conditions = !old
      ? [...conditions, suspended]
      : old.status === 'True' && old.reason === suspended.reason
        ? conditions
        : conditions.map((c) => (c === old ? suspended : c));
    if (JSON.stringify(current.status ?? {}) !== JSON.stringify(status)) api.update('jobs', { ...current, status });
  }

  function reconcileJob(ns, name) {
    const job = api.get('jobs', ns, name);
    if (!job || job.spec.suspend) return;
    if (
      (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
    )
      return;
    const indexed = job.spec.completionMode === 'Indexed';
    const completions = job.spec.completions ?? 1;
    const parallelism = job.spec.parallelism ?? 1;
    const pods = jobPods(ns, name);
    const indexOf = (p) => Number(p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] ?? 0);
    const done = pods.filter((p) => p.status?.phase === 'Succeeded');
    const failed = pods.filter((p) => p.status?.phase === 'Failed');
    const active = pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      ...job.status,
      startTime: job.status?.startTime ?? now,
      active: active.length,
      succeeded: done.length,
      failed: failed.length,
    };
    if (indexed) {
      status.completedIndexes = [...new Set(done.map(indexOf))].sort((a, b) => a - b).join(',') || undefined;
      status.failedIndexes = [...new Set(failed.map(indexOf))].sort((a, b) => a - b).join(',') || undefined;
    }
    const conditions = (job.status?.conditions ?? []).filter((c) => c.type !== 'Suspended');
    const perIndex = indexed && job.spec.backoffLimitPerIndex !== undefined;
    const tooManyFailures = perIndex ? false : failed.length > (job.spec.backoffLimit ?? 6);
    const finishedIndexes = new Set([...done, ...failed].map(indexOf));
    const allFinished = indexed ? finishedIndexes.size >= completions : done.length >= completions;
    const deadline =
      job.spec.activeDeadlineSeconds &&
      Date.now() - Date.parse(status.startTime) > job.spec.activeDeadlineSeconds * 1000;
    let terminal;
    if (deadline)
      terminal = {
        type: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified deadline',
      };
    else if (tooManyFailures)
      terminal = {
        type: 'Failed',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      };
    else if (allFinished && failed.length > 0 && perIndex)
      terminal = { type: 'Failed', reason: 'FailedIndexes', message: 'Job has failed indexes' };
    else if (allFinished && done.length > 0)
      terminal = {
        type: 'Complete',
        reason: 'CompletionsReached',
        message: 'Reached expected number of succeeded pods',
      };
    if (terminal) {
      for (const p of active) api.remove('pods', ns, p.metadata.name);
      status.active = 0;
      if (terminal.type === 'Complete') status.completionTime = now;
      conditions.push({
        type: terminal.type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget',
        status: 'True',
        reason: terminal.reason,
        message: terminal.message,
      });
      conditions.push({
        type: terminal.type,
        status: 'True',
        reason: terminal.reason,
        message: terminal.message,
        lastTransitionTime: now,
      });
    } else {
      // Start pods up to the parallelism: per missing index, or one at a time (with retries) otherwise.
      if (indexed) {
        const taken = new Set(pods.map(indexOf));
        let running = active.length;
        for (let i = 0; i < completions && running < parallelism; i++) {
          if (taken.has(i)) continue;
          createJobPod(job, i);
          running++;
        }
      } else if (active.length === 0 && done.length < completions) {
        createJobPod(job, undefined);
      }
      if (job.spec.activeDeadlineSeconds && !job.status?.startTime)
        api.later(job.spec.activeDeadlineSeconds * 1000 + 5, () => reconcileJob(ns, name));
    }
    const next = { ...status, conditions };
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
    if (JSON.stringify(job.status) !== JSON.stringify(next)) api.update('jobs', { ...job, status: next });
  }

  function createJobPod(job, index) {
    const ns = job.metadata.namespace;
    const name = job.metadata.name;
    const spec = structuredClone(job.spec.template.spec);
    // Pod Security admission refuses the controller's pod as it would a user's: the Job stays,
    // with a FailedCreate event (pkg/controller/job: "Error creating: ...").
    const refusal = podSecurityRefusal(
      api.get('namespaces', undefined, ns),
      `${name}-${index !== undefined ? `${index}-` : ''}xxxxx`,
      spec,
    );
    if (refusal) {
      recordEvent(
        { ...job, kind: 'Job', apiVersion: 'batch/v1' },
        'Warning',
        'FailedCreate',
        `Error creating: ${refusal}`,
        'job-controller',
      );
      return;
    }
    if (index !== undefined)
      for (const c of spec.containers)
        c.env = [...(c.env ?? []), { name: 'JOB_COMPLETION_INDEX', value: String(index) }];
    api.create('pods', {
      metadata: {
        name: `${name}-${index !== undefined ? `${index}-` : ''}${podSuffix()}`,
        namespace: ns,
        labels: {
          ...job.spec.template.metadata?.labels,
          'batch.kubernetes.io/job-name': name,
          'job-name': name,
          'batch.kubernetes.io/controller-uid': job.metadata.uid,
        },
        annotations: index !== undefined ? { 'batch.kubernetes.io/job-completion-index': String(index) } : {},
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata.uid, controller: true }],
      },
      spec,
      status: { phase: 'Pending', conditions: [] },
    });
  }

  /** A Job pod's container runs its "program": log lines over time, then it exits. */
  function runProgram(ns, name) {
    const pod = api.get('pods', ns, name);
    if (!pod) return;
    const index = pod.metadata.annotations?.['batch.kubernetes.io/job-completion-index'];
    const plan = controls.program(pod, index === undefined ? undefined : Number(index));
    const container = pod.spec.containers[0].name;
    const lines = plan.lines ?? [];
    const step = plan.lineDelayMs ?? 1;
    // One line at a time, each timer setting the next: a timer per line (1 ms, 2 ms, ...) set all at
    // once can fire out of order when the event loop is late, and the log came out shuffled.
    let next = 0;
    const writeLine = () => {
      if (!api.get('pods', ns, name)) return;
      if (next < lines.length) {
        api.appendLog(ns, name, container, lines[next++]);
        api.later(step, writeLine);
      } else if (plan.exitCode !== null) {
        api.later(step + (plan.runMs ?? 0), exit); // runs until deleted when exitCode is null
      }
    };
    api.later(step, writeLine);
    const exit = () => {
      const current = api.get('pods', ns, name);
      if (!current) return;
      const exitCode = plan.exitCode ?? 0;
      const now = new Date().toISOString();
      const containerStatuses = current.status.containerStatuses.map((cs) => ({
        ...cs,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason: plan.reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
            startedAt: cs.state?.running?.startedAt ?? now,
            finishedAt: now,
          },
        },
      }));
      api.update('pods', {
        ...current,
        status: {
          ...current.status,
          phase: exitCode === 0 ? 'Succeeded' : 'Failed',
          conditions: current.status.conditions.map((c) =>
            c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'PodCompleted' } : c,
          ),
          containerStatuses,
        },
      });
      api.endLogs(ns, name, container);
    };
  }

  function schedule(ns, name) {
    const pod = api.get('pods', ns, name);
    if (!pod) return;
    const nodes = api
      .objects('nodes')
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const claims = (pod.spec.volumes ?? [])
      .filter((v) => v.persistentVolumeClaim)
      .map((v) => v.persistentVolumeClaim.claimName);
    const missingClaim = claims.find((c) => !api.get('persistentvolumeclaims', ns, c));
    const total = api.objects('nodes').length;
    const tooBig =
      pod.spec.containers.reduce((sum, c) => sum + quantityBytes(c.resources?.requests?.memory), 0) > nodeMemoryBytes;
    const cpuRequest = pod.spec.containers.reduce((sum, c) => sum + millicores(c.resources?.requests?.cpu), 0);
    const tooManyCpus =
      nodes.length > 0 &&
      nodes.every((n) => n.status?.allocatable?.cpu !== undefined && cpuRequest > millicores(n.status.allocatable.cpu));
    // No default StorageClass: a claim without a class waits for a matching PV (the PV controller's
    // FailedBinding), and the scheduler treats it as Immediate binding (volumebinding: unbound
    // immediate PersistentVolumeClaims), so the pod is Unschedulable.
    const classless = controls.defaultStorageClass
      ? undefined
      : claims
          .map((c) => api.get('persistentvolumeclaims', ns, c))
          .find((pvc) => pvc && pvc.status?.phase !== 'Bound' && !pvc.spec.storageClassName);
    if (classless)
      recordEvent(
        { ...classless, kind: 'PersistentVolumeClaim' },
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
        'persistentvolume-controller',
      );
    if (nodes.length === 0 || missingClaim || classless || tooBig || tooManyCpus) {
      const message = missingClaim
        ? `0/${total} nodes are available: persistentvolumeclaim "${missingClaim}" not found. preemption: 0/${total} nodes are available.`
        : classless
          ? `0/${total} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`
          : tooBig || tooManyCpus
            ? `0/${total} nodes are available: ${total} Insufficient ${tooBig ? 'memory' : 'cpu'}. preemption: 0/${total} nodes are available: ${total} No preemption victims found for incoming pod.`
            : `0/${total} nodes are available: ${total} node(s) had untolerated taint {node.kubernetes.io/not-ready: }.`;
      api.update('pods', {
        ...pod,
        status: {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
        },
      });
      recordEvent(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      return;
    }
    // A bound ReadWriteOnce volume is reachable where it was provisioned: local-path's PV has node
    // affinity to its node ('node'); an EBS/PD disk's to its zone ('zone': every node of the fake).
    const volumeNode =
      controls.volumeTopology === 'node'
        ? claims
            .map((c) => api.get('persistentvolumeclaims', ns, c))
            .find((pvc) => pvc?.status?.phase === 'Bound' && !(pvc.spec.accessModes ?? []).includes('ReadWriteMany'))
            ?.metadata.annotations?.['volume.kubernetes.io/selected-node']
        : undefined;
    // A volume tied to one node (its PV's node affinity, as local-path writes it) can be used only
    // there: a node that is gone, or has no room, leaves the pod Unschedulable with the
    // scheduler's words (VolumeBinding: "had volume node affinity conflict"; NodeResourcesFit:
    // "Insufficient cpu"), and it is retried only when the cluster changes.
    const fits = (n) => !controls.fullNodes.includes(n.metadata.name);
    if (volumeNode !== undefined && !nodes.some((n) => n.metadata.name === volumeNode && fits(n))) {
      const full = nodes.some((n) => n.metadata.name === volumeNode) ? 1 : 0;
      const message = `0/${total} nodes are available: ${full ? `1 Insufficient cpu, ${total - 1} node(s) had volume node affinity conflict` : `${total} node(s) had volume node affinity conflict`}. preemption: 0/${total} nodes are available: ${full ? `1 No preemption victims found for incoming pod, ${total - 1} Preemption is not helpful for scheduling.` : `${total} Preemption is not helpful for scheduling.`}`;
      api.update('pods', {
        ...pod,
        status: {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
        },
      });
      recordEvent(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      return;
    }
    const free = nodes.filter(fits);
    const node =
      nodes.find((n) => n.metadata.name === volumeNode) ??
      free[controls.nextNode++ % free.length] ??
      nodes[controls.nextNode++ % nodes.length];
    // WaitForFirstConsumer: the scheduler picks a node and sets the claim's selected-node
    // annotation; the PV controller says it waits for the external provisioner, which provisions
    // for that node. local-path refuses ReadWriteMany with a final error (rancher/local-path-provisioner
    // provisioner.go; sig-storage-lib-external-provisioner controller.go: ProvisioningFinished, no
    // reschedule, the annotation stays): a ProvisioningFailed Warning on the claim, and the pod stays
    // Pending, assumed on its node while the scheduler's PreBind waits for the binding (bindTimeout
    // 600 s, kubernetes pkg/scheduler/framework/plugins/volumebinding/binder.go) — the scheduler
    // writes no "provisioning failed for PVC" for a final error.
    const unbound = claims
      .map((c) => api.get('persistentvolumeclaims', ns, c))
      .filter((pvc) => pvc.status?.phase !== 'Bound');
    for (const pvc of unbound) {
      api.update('persistentvolumeclaims', {
        ...pvc,
        metadata: {
          ...pvc.metadata,
          annotations: { ...pvc.metadata.annotations, 'volume.kubernetes.io/selected-node': node.metadata.name },
        },
      });
      if (!controls.provisioner) continue; // its provisioner is not running: nobody answers
      recordEvent(
        { ...pvc, kind: 'PersistentVolumeClaim' },
        'Normal',
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${controls.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
        'persistentvolume-controller',
      );
      recordEvent(
        { ...pvc, kind: 'PersistentVolumeClaim' },
        'Normal',
        'Provisioning',
        `External provisioner is provisioning volume for claim "${ns}/${pvc.metadata.name}"`,
        `${controls.provisioner}_local-path-provisioner`,
      );
    }
    const refused = unbound.find(
      (pvc) => (pvc.spec.accessModes ?? []).includes('ReadWriteMany') && !controls.readWriteMany,
    );
    if (refused && controls.provisioner) {
      const className = refused.spec.storageClassName ?? 'local-path';
      recordEvent(
        { ...refused, kind: 'PersistentVolumeClaim' },
        'Warning',
        'ProvisioningFailed',
        `failed to provision volume with StorageClass "${className}": NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes`,
        `${controls.provisioner}_local-path-provisioner`,
      );
    }
    if (refused || (unbound.length > 0 && !controls.provisioner)) {
      api.update('pods', { ...pod, status: { phase: 'Pending', conditions: [] } });
      return;
    }
    for (const claim of claims) {
      const pvc = api.get('persistentvolumeclaims', ns, claim);
      if (pvc.status?.phase !== 'Bound' && controls.bindVolumes) {
        const pvName = `pvc-${pvc.metadata.uid}`;
        // The provisioned PV: local-path's has node affinity to its node (rancher/local-path-provisioner
        // provisioner.go: kubernetes.io/hostname In [node]); an EBS/PD disk's to its zone.
        const affinity =
          controls.volumeTopology === 'node' && !(pvc.spec.accessModes ?? []).includes('ReadWriteMany')
            ? { key: 'kubernetes.io/hostname', operator: 'In', values: [node.metadata.name] }
            : { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a'] };
        if (!api.get('persistentvolumes', undefined, pvName)) {
          api.create('persistentvolumes', {
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: pvName },
            spec: {
              capacity: pvc.spec.resources?.requests,
              accessModes: pvc.spec.accessModes,
              claimRef: { namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid },
              storageClassName: pvc.spec.storageClassName ?? 'local-path',
              nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [affinity] }] } },
            },
            status: { phase: 'Bound' },
          });
        }
        api.update('persistentvolumeclaims', {
          ...pvc,
          spec: { ...pvc.spec, volumeName: pvName, storageClassName: pvc.spec.storageClassName ?? 'local-path' },
          status: { phase: 'Bound', accessModes: pvc.spec.accessModes, capacity: pvc.spec.resources?.requests },
        });
      }
    }
    api.update('pods', {
      ...pod,
      spec: { ...pod.spec, nodeName: node.metadata.name },
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: c.image,
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'ContainerCreating' } },
        })),
      },
    });
    recordEvent(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${ns}/${name} to ${node.metadata.name}`,
      'default-scheduler',
    );
    api.later(controls.podStartDelayMs, () => startContainers(ns, name));
  }

  /**
   * Records a core/v1 Event as the components' event recorders do (client-go tools/record:
   * EventCorrelator/eventLogger): the same source, object, type, reason and message again
   * updates the existing Event's count and lastTimestamp instead of creating another.
   */
  function recordEvent(obj, type, reason, message, component, host) {
    const ns = obj.metadata.namespace;
    const involved = {
      kind: obj.kind ?? 'Pod',
      namespace: ns,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      apiVersion: obj.apiVersion ?? 'v1',
      resourceVersion: obj.metadata.resourceVersion,
    };
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const same = api
      .objects('events')
      .find(
        (e) =>
          e.metadata.namespace === ns &&
          e.involvedObject.uid === involved.uid &&
          e.reason === reason &&
          e.message === message &&
          e.type === type &&
          e.source?.component === component,
      );
    if (same) {
      api.update('events', { ...same, count: (same.count ?? 1) + 1, lastTimestamp: now });
      return;
    }
    api.create('events', {
      metadata: {
        name: `${obj.metadata.name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`,
        namespace: ns,
      },
      involvedObject: involved,
      reason,
      message,
      source: { component, ...(host ? { host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: host ?? '',
    });
  }
  controls.recordEvent = recordEvent;
  // Acts only on MPIJobs, which exist once a test installs the CRD (api.installCustomResource).
  attachMpiOperator(api, controls);

  function startContainers(ns, name) {
    const pod = api.get('pods', ns, name);
    if (!pod?.spec.nodeName) return;
    // A ReadWriteOnce volume attaches to one node (EBS, PD: the attach-detach controller, kubernetes
    // pkg/controller/volume/attachdetach/reconciler/reconciler.go): a second node's pod waits in
    // ContainerCreating with "Multi-Attach error" for as long as the first pod holds it.
    const holder = (pod.spec.volumes ?? [])
      .filter((v) => v.persistentVolumeClaim)
      .map((v) => api.get('persistentvolumeclaims', ns, v.persistentVolumeClaim.claimName))
      .filter((pvc) => pvc?.status?.phase === 'Bound' && !(pvc.spec.accessModes ?? []).includes('ReadWriteMany'))
      .map((pvc) => ({
        pvc,
        users: api
          .objects('pods')
          .filter(
            (p) =>
              p.metadata.namespace === ns &&
              p.metadata.name !== name &&
              p.spec.nodeName &&
              p.spec.nodeName !== pod.spec.nodeName &&
              !['Succeeded', 'Failed'].includes(p.status?.phase) &&
              (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === pvc.metadata.name),
          ),
      }))
      .find((u) => u.users.length > 0);
    if (holder) {
      const waiting = { reason: 'ContainerCreating' };
      api.update('pods', {
        ...pod,
        status: {
          ...pod.status,
          phase: 'Pending',
          containerStatuses: pod.spec.containers.map((c) => ({
            name: c.name,
            image: c.image,
            ready: false,
            restartCount: 0,
            state: { waiting },
          })),
        },
      });
      recordEvent(
        pod,
        'Warning',
        'FailedAttachVolume',
        `Multi-Attach error for volume "${holder.pvc.spec.volumeName}" Volume is already used by pod(s) ${holder.users.map((p) => p.metadata.name).join(', ')}`,
        'attachdetach-controller',
      );
      return;
    }
    const statuses = pod.spec.containers.map((c) => {
      const image = normalizeImage(c.image);
      const policy = effectivePullPolicy(c);
      const byDigest = image.includes('@');
      const present = byDigest ? [...pulled.values()].includes(image) : nodeImages.has(image) || pulled.has(image);
      const previous = pod.status.containerStatuses?.find((s) => s.name === c.name);
      let waiting;
      if (policy === 'Never' && !present) {
        waiting = {
          reason: 'ErrImageNeverPull',
          message: `Container image "${c.image}" is not present with pull policy of Never`,
        };
      } else if (
        (policy === 'Always' || !present) &&
        (!isPullable(c.image) || (byDigest && controls.deletedDigests.has(image.slice(image.indexOf('@') + 1))))
      ) {
        const pulledBefore =
          previous?.state?.waiting?.reason === 'ErrImagePull' ||
          previous?.state?.waiting?.reason === 'ImagePullBackOff';
        waiting = pulledBefore
          ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` }
          : {
              reason: 'ErrImagePull',
              message: `failed to pull and unpack image "${image}": failed to resolve reference "${image}": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`,
            };
      } else if (crashImages.has(image)) {
        // restartPolicy Never: the exit is final and the pod Failed (kubelet getPhase); else restarts with back-off.
        if (pod.spec.restartPolicy === 'Never')
          return {
            name: c.name,
            image: c.image,
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 1, reason: 'Error', finishedAt: new Date().toISOString() } },
          };
        return {
          name: c.name,
          image: c.image,
          ready: false,
          restartCount: (previous?.restartCount ?? 0) + 1,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off 10s restarting failed container=${c.name} pod=${name}`,
            },
          },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        };
      }
      if (waiting) return { name: c.name, image: c.image, ready: false, restartCount: 0, state: { waiting } };
      // Pulled from its registry (not present, or policy Always): the node now lists it by digest.
      if (!present || (policy === 'Always' && !nodeImages.has(image))) {
        pulled.set(image, byDigest ? image : `${repositoryOf(image)}@${registryDigest(image)}`);
        publishNodeImages();
      }
      // containerd's ContainerStatus: imageRef is the image's first RepoDigest, else its image ID.
      const imageID =
        pulled.get(image) ??
        (byDigest
          ? image
          : `${imageIds.get(image) ?? `sha256:${createHash('sha256').update(`image:${c.image}`).digest('hex')}`}`);
      return {
        name: c.name,
        image: c.image,
        imageID,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: new Date().toISOString() } },
      };
    });
    const allReady = statuses.every((s) => s.ready);
    // The kubelet's events for each container (pkg/kubelet/events/event.go reasons).
    for (const st of statuses) {
      const w = st.state.waiting;
      if (!w) recordEvent(pod, 'Normal', 'Started', `Started container ${st.name}`, 'kubelet', pod.spec.nodeName);
      else if (w.reason === 'ErrImagePull' || w.reason === 'ErrImageNeverPull')
        recordEvent(
          pod,
          'Warning',
          'Failed',
          `Failed to pull image "${st.image}": ${w.message}`,
          'kubelet',
          pod.spec.nodeName,
        );
      else if (w.reason === 'ImagePullBackOff')
        recordEvent(pod, 'Normal', 'BackOff', `Back-off pulling image "${st.image}"`, 'kubelet', pod.spec.nodeName);
      else if (w.reason === 'CrashLoopBackOff')
        recordEvent(
          pod,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${st.name} in pod ${name}_${ns}(${pod.metadata.uid})`,
          'kubelet',
          pod.spec.nodeName,
        );
    }
    api.update('pods', {
      ...pod,
      status: {
        phase: statuses.some((st) => st.state.terminated) ? 'Failed' : allReady ? 'Running' : 'Pending',
        hostIP: '172.18.0.3',
        podIP: `10.42.0.${(podCounter % 250) + 2}`,
        startTime: pod.status.startTime ?? new Date().toISOString(),
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Initialized', status: 'True' },
          { type: 'ContainersReady', status: allReady ? 'True' : 'False' },
          { type: 'Ready', status: allReady ? 'True' : 'False', ...(allReady ? {} : { reason: 'ContainersNotReady' }) },
        ],
        containerStatuses: statuses,
      },
    });
    const backoff = statuses.find((s) => s.state.waiting?.reason === 'ErrImagePull');
    if (backoff) api.later(controls.podStartDelayMs, () => startContainers(ns, name));
    if (allReady) {
      if (pod.metadata.labels?.['batch.kubernetes.io/job-name']) runProgram(ns, name);
      else
        for (const c of pod.spec.containers)
          api.appendLog(ns, name, c.name, `${c.name} started on ${pod.spec.nodeName}`);
    }
  }

  return controls;
}
