// The Kubeflow MPI Operator for the fake API server, as kubeflow/mpi-operator v0.8.2 behaves:
//   - the CRD (deploy/v2beta1/mpi-operator.yaml): its OpenAPI schema requires spec.mpiReplicaSpecs
//     and limits mpiImplementation to OpenMPI/Intel/MPICH (422 on create), and fills the defaults
//     of pkg/apis/kubeflow/v2beta1/types.go (+kubebuilder:default);
//   - the controller (pkg/controller/mpi_job_controller.go syncHandler): defaults
//     (v2beta1/default.go), ValidateMPIJob (pkg/apis/kubeflow/validation; an invalid MPIJob gets
//     a ValidationError event and nothing else), the Created condition, then the headless Service
//     <name>, the ConfigMap <name>-config (hostfile, discover_hosts.sh), the Secret <name>-ssh,
//     worker pods <name>-worker-<i>, and the launcher Job <name>-launcher (at once, or once every
//     worker is Ready with launcherCreationPolicy WaitForWorkersReady), all owned by the MPIJob;
//     status (mpi_job_controller_status.go): replicaStatuses, Running when the launcher pod and
//     every worker run, Succeeded/Failed from the launcher Job's conditions, completionTime, and
//     then cleanPodPolicy applied to the workers; runPolicy.suspend: the launcher Job suspended,
//     the workers deleted, the conditions Suspended=True and Running=False (MPIJobSuspended);
//   - the garbage collector: deleting the MPIJob deletes what it owns (ownerReferences), and the
//     launcher Job's pods go with their Job (cluster-controllers.mjs).
// The launcher's pod is a Job pod, so it runs the test's `program` (log lines, exit code) like any run pod.

const operatorName = 'mpi-operator';
const apiVersion = 'kubeflow.org/v2beta1';
const roleLabel = 'training.kubeflow.org/job-role';
const implementations = ['OpenMPI', 'Intel', 'MPICH'];
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The CRD's schema check on create: undefined when valid, else the API server's 422 message. */
export function crdInvalid(obj) {
  const name = obj.metadata?.name ?? '';
  const causes = [];
  if (!obj.spec?.mpiReplicaSpecs) causes.push('spec.mpiReplicaSpecs: Required value');
  const impl = obj.spec?.mpiImplementation;
  if (impl !== undefined && !implementations.includes(impl))
    causes.push(
      `spec.mpiImplementation: Unsupported value: "${impl}": supported values: ${implementations.map((i) => `"${i}"`).join(', ')}`,
    );
  return causes.length ? `MPIJob.kubeflow.org "${name}" is invalid: ${causes.join(', ')}` : undefined;
}

/** The CRD's defaults (types.go +kubebuilder:default), applied by the API server on create. */
export function crdDefaults(obj) {
  const spec = obj.spec;
  spec.slotsPerWorker ??= 1;
  spec.runLauncherAsWorker ??= false;
  spec.sshAuthMountPath ??= '/root/.ssh';
  spec.launcherCreationPolicy ??= 'AtStartup';
  spec.mpiImplementation ??= 'OpenMPI';
  spec.runPolicy = { suspend: false, ...spec.runPolicy };
  return obj;
}

/** SetDefaults_MPIJob (v2beta1/default.go), as the controller applies it to its copy. */
function withDefaults(m) {
  const copy = crdDefaults(structuredClone(m));
  copy.spec.runPolicy.cleanPodPolicy ??= 'None';
  const launcher = copy.spec.mpiReplicaSpecs?.Launcher;
  if (launcher) {
    launcher.restartPolicy ||= 'OnFailure';
    launcher.replicas ??= 1;
  }
  const worker = copy.spec.mpiReplicaSpecs?.Worker;
  if (worker) {
    worker.restartPolicy ||= 'Never';
    worker.replicas ??= 0;
  }
  return copy;
}

/** ValidateMPIJob: the field errors, empty when valid. */
function validationErrors(m) {
  const errs = [];
  const workers = m.spec.mpiReplicaSpecs?.Worker?.replicas > 0 ? m.spec.mpiReplicaSpecs.Worker.replicas : 1;
  const host = `${m.metadata.name}-worker-${workers - 1}`;
  if (host.length > 63 || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(host))
    errs.push(
      `metadata.name: Invalid value: "${m.metadata.name}": will not able to create pod and service with invalid DNS label "${host}"`,
    );
  const specs = m.spec.mpiReplicaSpecs;
  if (!specs) errs.push('spec.mpiReplicaSpecs: Required value: must have replica specs');
  else {
    const replica = (spec, key) => {
      if (spec.replicas === undefined)
        errs.push(`spec.mpiReplicaSpecs[${key}].replicas: Required value: must define number of replicas`);
      if (!['Never', 'OnFailure'].includes(spec.restartPolicy))
        errs.push(
          `spec.mpiReplicaSpecs[${key}].restartPolicy: Unsupported value: "${spec.restartPolicy}": supported values: "Never", "OnFailure"`,
        );
      if (!spec.template?.spec?.containers?.length)
        errs.push(
          `spec.mpiReplicaSpecs[${key}].template.spec.containers: Required value: must define at least one container`,
        );
    };
    if (!specs.Launcher) errs.push('spec.mpiReplicaSpecs[Launcher]: Required value: must have Launcher replica spec');
    else {
      replica(specs.Launcher, 'Launcher');
      if (specs.Launcher.replicas !== 1)
        errs.push(`spec.mpiReplicaSpecs[Launcher].replicas: Invalid value: ${specs.Launcher.replicas}: must be 1`);
    }
    if (specs.Worker) {
      replica(specs.Worker, 'Worker');
      if (specs.Worker.replicas <= 0)
        errs.push(
          `spec.mpiReplicaSpecs[Worker].replicas: Invalid value: ${specs.Worker.replicas}: must be greater than or equal to 1`,
        );
    }
  }
  if (!(m.spec.slotsPerWorker >= 0))
    errs.push('spec.slotsPerWorker: Invalid value: must be greater than or equal to 0');
  if (!['None', 'Running', 'All'].includes(m.spec.runPolicy.cleanPodPolicy))
    errs.push(`spec.runPolicy.cleanPodPolicy: Unsupported value: "${m.spec.runPolicy.cleanPodPolicy}"`);
  for (const f of ['ttlSecondsAfterFinished', 'activeDeadlineSeconds', 'backoffLimit'])
    if (m.spec.runPolicy[f] < 0)
      errs.push(`spec.runPolicy.${f}: Invalid value: ${m.spec.runPolicy[f]}: must be greater than or equal to 0`);
  return errs;
}

const defaultLabels = (name, role) => ({
  'training.kubeflow.org/operator-name': operatorName,
  'training.kubeflow.org/job-name': name,
  [roleLabel]: role,
});
const controllerRef = (m) => ({
  apiVersion,
  kind: 'MPIJob',
  name: m.metadata.name,
  uid: m.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
});
const ownedBy = (obj, m) => (obj.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === m.metadata.uid);
const workerName = (m, i) => `${m.metadata.name}-worker-${i}`;
const isReady = (p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const jobCondition = (job, type) => (job.status?.conditions ?? []).find((c) => c.type === type && c.status === 'True');

/** setCondition (mpi_job_controller_status.go): same status and reason is no change; Succeeded/Failed turn Running (and an older Failed) False. */
function setCondition(status, type, value, reason, message) {
  const current = (status.conditions ?? []).find((c) => c.type === type);
  if (current && current.status === value && current.reason === reason) return false;
  const time = current && current.status === value ? current.lastTransitionTime : now();
  const others = (status.conditions ?? [])
    .filter(
      (c) =>
        c.type !== type &&
        !(type === 'Running' && c.type === 'Restarting') &&
        !(type === 'Restarting' && c.type === 'Running'),
    )
    .map((c) =>
      (type === 'Failed' || type === 'Succeeded') && (c.type === 'Running' || c.type === 'Failed')
        ? { ...c, status: 'False' }
        : c,
    );
  status.conditions = [
    ...others,
    { type, status: value, lastUpdateTime: now(), lastTransitionTime: time, reason, message },
  ];
  return true;
}
const hasCondition = (status, type) => (status.conditions ?? []).some((c) => c.type === type && c.status === 'True');
const isFinished = (status) => hasCondition(status, 'Succeeded') || hasCondition(status, 'Failed');
/** ReplicaStatus fields are omitempty: zero counts are left out. */
const counts = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v));

export function hostfile(m) {
  const slots = m.spec.slotsPerWorker;
  const host = (n) => `${n}.${m.metadata.name}.${m.metadata.namespace}.svc`;
  const names = [
    ...(m.spec.runLauncherAsWorker ? [`${m.metadata.name}-launcher`] : []),
    ...Array.from({ length: m.spec.mpiReplicaSpecs.Worker?.replicas ?? 0 }, (_, i) => workerName(m, i)),
  ];
  return names
    .map((n) => (m.spec.mpiImplementation === 'OpenMPI' ? `${host(n)} slots=${slots}\n` : `${host(n)}:${slots}\n`))
    .join('');
}

/** setupSSHOnPod: the Secret's key pair at sshAuthMountPath in the first container (0600 only for /root/.ssh). */
function setupSsh(spec, m) {
  spec.volumes = [
    ...(spec.volumes ?? []),
    {
      name: 'ssh-auth',
      secret: {
        ...(m.spec.sshAuthMountPath === '/root/.ssh' ? { defaultMode: 0o600 } : {}),
        secretName: `${m.metadata.name}-ssh`,
        items: [
          { key: 'ssh-privatekey', path: 'id_rsa' },
          { key: 'ssh-publickey', path: 'id_rsa.pub' },
          { key: 'ssh-publickey', path: 'authorized_keys' },
        ],
      },
    },
  ];
  spec.containers[0].volumeMounts = [
    ...(spec.containers[0].volumeMounts ?? []),
    { name: 'ssh-auth', mountPath: m.spec.sshAuthMountPath },
  ];
}

export function newWorker(m, i) {
  const template = structuredClone(m.spec.mpiReplicaSpecs.Worker.template);
  const name = workerName(m, i);
  const labels = {
    ...template.metadata?.labels,
    ...defaultLabels(m.metadata.name, 'worker'),
    'training.kubeflow.org/replica-index': String(m.spec.runLauncherAsWorker ? i + 1 : i),
  };
  const spec = template.spec;
  spec.hostname = name;
  spec.subdomain = m.metadata.name;
  spec.dnsConfig = {
    ...spec.dnsConfig,
    searches: [...(spec.dnsConfig?.searches ?? []), `${m.metadata.name}.${m.metadata.namespace}.svc.cluster.local`],
  };
  spec.restartPolicy =
    m.spec.mpiReplicaSpecs.Worker.restartPolicy === 'ExitCode' ? 'Never' : m.spec.mpiReplicaSpecs.Worker.restartPolicy;
  const c = spec.containers[0];
  if (!c.command?.length && !c.args?.length) c.command = ['/usr/sbin/sshd', '-De'];
  c.env = [...(c.env ?? []), { name: 'K_MPI_JOB_ROLE', value: 'worker' }];
  setupSsh(spec, m);
  return {
    metadata: {
      name,
      namespace: m.metadata.namespace,
      labels,
      annotations: template.metadata?.annotations,
      ownerReferences: [controllerRef(m)],
    },
    spec,
    status: { phase: 'Pending', conditions: [] },
  };
}

export function newLauncherJob(m) {
  const launcher = m.spec.mpiReplicaSpecs.Launcher;
  const template = structuredClone(launcher.template);
  const name = `${m.metadata.name}-launcher`;
  const labels = {
    ...template.metadata?.labels,
    ...defaultLabels(m.metadata.name, 'launcher'),
    ...(m.spec.runLauncherAsWorker ? { 'training.kubeflow.org/replica-index': '0' } : {}),
  };
  const spec = template.spec;
  spec.hostname = name;
  spec.subdomain = m.metadata.name;
  const c = spec.containers[0];
  const hostfilePath = '/etc/mpi/hostfile';
  const env = [{ name: 'K_MPI_JOB_ROLE', value: 'launcher' }];
  if (m.spec.mpiImplementation === 'OpenMPI') {
    env.push(
      { name: 'OMPI_MCA_orte_keep_fqdn_hostnames', value: 'true' },
      { name: 'OMPI_MCA_orte_default_hostfile', value: hostfilePath },
      { name: 'OMPI_MCA_plm_rsh_args', value: '-o ConnectionAttempts=10' },
      { name: 'OMPI_MCA_orte_set_default_slots', value: String(m.spec.slotsPerWorker) },
    );
  } else if (m.spec.mpiImplementation === 'Intel') {
    env.push(
      { name: 'I_MPI_HYDRA_HOST_FILE', value: hostfilePath },
      { name: 'I_MPI_HYDRA_BOOTSTRAP_EXEC_EXTRA_ARGS', value: '-o ConnectionAttempts=10' },
      { name: 'I_MPI_PERHOST', value: String(m.spec.slotsPerWorker) },
    );
  } else {
    env.push(
      { name: 'HYDRA_HOST_FILE', value: hostfilePath },
      { name: 'HYDRA_LAUNCH_EXTRA_ARGS', value: '-o ConnectionAttempts=10' },
    );
  }
  if (!m.spec.runLauncherAsWorker) env.push({ name: 'NVIDIA_VISIBLE_DEVICES' }, { name: 'NVIDIA_DRIVER_CAPABILITIES' });
  c.env = [...(c.env ?? []), ...env];
  setupSsh(spec, m);
  spec.restartPolicy = launcher.restartPolicy === 'ExitCode' ? 'Never' : launcher.restartPolicy;
  spec.volumes = [
    ...spec.volumes,
    {
      name: 'mpi-job-config',
      configMap: {
        name: `${m.metadata.name}-config`,
        items: [
          { key: 'hostfile', path: 'hostfile', mode: 0o444 },
          { key: 'discover_hosts.sh', path: 'discover_hosts.sh', mode: 0o555 },
        ],
      },
    },
  ];
  c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'mpi-job-config', mountPath: '/etc/mpi' }];
  const rp = m.spec.runPolicy;
  return {
    metadata: {
      name,
      namespace: m.metadata.namespace,
      labels: { app: m.metadata.name },
      ownerReferences: [controllerRef(m)],
    },
    spec: {
      ...(rp.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: rp.ttlSecondsAfterFinished } : {}),
      ...(rp.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: rp.activeDeadlineSeconds } : {}),
      ...(rp.backoffLimit !== undefined ? { backoffLimit: rp.backoffLimit } : {}),
      template: {
        metadata: { labels, annotations: template.metadata?.annotations, ownerReferences: [controllerRef(m)] },
        spec,
      },
      podReplacementPolicy: 'Failed',
      ...(rp.suspend ? { suspend: true } : {}),
    },
  };
}

/**
 * @param {any} api the fake API server
 * @param {{ paused: boolean, recordEvent: Function }} controls the cluster's controls (cluster-controllers.mjs)
 */
export function attachMpiOperator(api, controls) {
  api.admission.mpijobs = (body) => crdInvalid(body) ?? (crdDefaults(body), undefined);
  const event = (m, type, reason, message) => controls.recordEvent(m, type, reason, message, 'mpi-job-controller');
  /** Only objects the MPIJob controls; anything else by that name is an ErrResourceExists event. */
  const getOwned = (m, resource, name, kind) => {
    const obj = api.get(resource, m.metadata.namespace, name);
    if (obj && !ownedBy(obj, m)) {
      event(
        m,
        'Warning',
        'ErrResourceExists',
        `Resource "${name}" of Kind "${kind}" already exists and is not managed by MPIJob`,
      );
      throw new Error('not owned');
    }
    return obj;
  };
  const ensure = (m, resource, kind, desired) =>
    getOwned(m, resource, desired.metadata.name, kind) ?? api.create(resource, desired);

  function sync(ns, name) {
    const stored = api.get('mpijobs', ns, name);
    if (!stored || stored.metadata.deletionTimestamp) return;
    const m = withDefaults(stored);
    const errors = validationErrors(m);
    if (errors.length) {
      event(m, 'Warning', 'ValidationError', `Found validation errors: [${errors.join(', ')}]`);
      return;
    }
    const status = structuredClone(stored.status ?? {});
    const suspended = m.spec.runPolicy.suspend === true;
    if (!status.conditions?.length) {
      setCondition(status, 'Created', 'True', 'MPIJobCreated', `MPIJob ${ns}/${name} is created.`);
      event(m, 'Normal', 'MPIJobCreated', `MPIJob ${ns}/${name} is created.`);
    }
    const workerSpec = m.spec.mpiReplicaSpecs.Worker;
    if (isFinished(status) && status.completionTime) {
      if (m.spec.runPolicy.cleanPodPolicy === 'All' || m.spec.runPolicy.cleanPodPolicy === 'Running') {
        for (let i = 0; i < (workerSpec?.replicas ?? 0); i++) {
          const pod = api.get('pods', ns, workerName(m, i));
          if (!pod || !ownedBy(pod, m)) continue;
          if (
            m.spec.runPolicy.cleanPodPolicy === 'Running' &&
            pod.status?.phase !== 'Running' &&
            pod.status?.phase !== 'Pending'
          )
            continue;
          api.remove('pods', ns, pod.metadata.name);
        }
        status.replicaStatuses = { ...status.replicaStatuses, Worker: {} };
        write(stored, status);
      }
      return;
    }
    if (!status.startTime && !suspended) status.startTime = now();

    let launcher;
    const workers = [];
    try {
      launcher = getOwned(m, 'jobs', `${name}-launcher`, 'Job');
      const done = launcher && (jobCondition(launcher, 'Complete') || jobCondition(launcher, 'Failed'));
      if (!done) {
        ensure(m, 'services', 'Service', {
          metadata: { name, namespace: ns, labels: { app: name }, ownerReferences: [controllerRef(m)] },
          spec: {
            clusterIP: 'None',
            selector: { 'training.kubeflow.org/operator-name': operatorName, 'training.kubeflow.org/job-name': name },
            publishNotReadyAddresses: Boolean(m.spec.runLauncherAsWorker),
          },
        });
        const running = api
          .objects('pods')
          .filter(
            (p) =>
              p.metadata.namespace === ns &&
              p.metadata.labels?.['training.kubeflow.org/job-name'] === name &&
              p.metadata.labels?.[roleLabel] === 'worker' &&
              p.status?.phase === 'Running',
          );
        const discover = `#!/bin/sh\n${m.spec.runLauncherAsWorker ? `echo ${name}-launcher.${name}.${ns}.svc\n` : ''}${running
          .map((p) => p.metadata.name)
          .sort()
          .map((n) => `echo ${n}.${name}.${ns}.svc\n`)
          .join('')}`;
        const data = { hostfile: hostfile(m), 'discover_hosts.sh': discover };
        const cm = ensure(m, 'configmaps', 'ConfigMap', {
          metadata: {
            name: `${name}-config`,
            namespace: ns,
            labels: { app: name },
            ownerReferences: [controllerRef(m)],
          },
          data,
        });
        if (JSON.stringify(cm.data) !== JSON.stringify(data)) api.update('configmaps', { ...cm, data });
        ensure(m, 'secrets', 'Secret', {
          metadata: { name: `${name}-ssh`, namespace: ns, labels: { app: name }, ownerReferences: [controllerRef(m)] },
          type: 'kubernetes.io/ssh-auth',
          // Not a real key: nothing in the fake cluster logs in.
          data: {
            'ssh-privatekey': Buffer.from(
              '-----BEGIN EC PRIVATE KEY-----\nfake\n-----END EC PRIVATE KEY-----\n',
            ).toString('base64'),
            'ssh-publickey': Buffer.from(`ecdsa-sha2-nistp521 fake-${m.metadata.uid}\n`).toString('base64'),
          },
        });
        if (!suspended && workerSpec) {
          for (let i = 0; i < workerSpec.replicas; i++)
            workers.push(getOwned(m, 'pods', workerName(m, i), 'Pod') ?? api.create('pods', newWorker(m, i)));
        }
        if (
          !launcher &&
          (m.spec.launcherCreationPolicy === 'AtStartup' || workers.filter(isReady).length === workers.length)
        ) {
          launcher = api.create('jobs', newLauncherJob(m));
        }
      }
    } catch (err) {
      if (err.message === 'not owned') return;
      throw err;
    }

    // runPolicy.suspend (syncHandler): the launcher Job is suspended with the MPIJob (an Update of
    // the whole Job, so its labels and annotations stay; the Job controller then deletes its pods),
    // and cleanUpWorkerPods deletes the workers (under cleanPodPolicy Running, one that is neither
    // running nor pending is kept) and resets the workers' status. The other way (a resume: the
    // launcher unsuspended, its startTime cleared) is not modelled: keystone never resumes a run.
    if (suspended && launcher && !launcher.spec.suspend)
      launcher = api.update('jobs', { ...launcher, spec: { ...launcher.spec, suspend: true } });
    if (suspended) {
      for (let i = 0; i < (workerSpec?.replicas ?? 0); i++) {
        const pod = api.get('pods', ns, workerName(m, i));
        if (!pod || !ownedBy(pod, m)) continue;
        if (
          m.spec.runPolicy.cleanPodPolicy === 'Running' &&
          pod.status?.phase !== 'Running' &&
          pod.status?.phase !== 'Pending'
        )
          continue;
        api.remove('pods', ns, pod.metadata.name);
      }
    }

    // updateMPIJobStatus: the Suspended condition first (set while suspended; False, MPIJobResumed, after).
    if (suspended && setCondition(status, 'Suspended', 'True', 'MPIJobSuspended', 'MPIJob suspended'))
      event(m, 'Normal', 'MPIJobSuspended', 'MPIJob suspended');
    let launcherRunning = 0;
    if (launcher) {
      const pods = api
        .objects('pods')
        .filter(
          (p) =>
            p.metadata.namespace === ns &&
            p.metadata.labels?.['batch.kubernetes.io/job-name'] === launcher.metadata.name,
        );
      launcherRunning = pods.filter((p) => p.status?.phase === 'Running').length;
      const launcherStatus = { failed: launcher.status?.failed };
      if (jobCondition(launcher, 'Complete')) {
        launcherStatus.succeeded = 1;
        status.completionTime ??= launcher.status?.completionTime;
        if (
          setCondition(status, 'Succeeded', 'True', 'MPIJobSucceeded', `MPIJob ${ns}/${name} successfully completed.`)
        )
          event(m, 'Normal', 'MPIJobSucceeded', `MPIJob ${ns}/${name} successfully completed.`);
      } else if (jobCondition(launcher, 'Failed')) {
        const failed = jobCondition(launcher, 'Failed');
        let reason = failed.reason || 'MPIJobFailed';
        let message = failed.message || `MPIJob ${ns}/${name} has failed`;
        if (reason === 'BackoffLimitExceeded') {
          const last = pods
            .filter((p) => p.status?.phase === 'Failed')
            .sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1))
            .pop();
          if (last) {
            reason += `/${last.status.reason ?? ''}`;
            message += `: ${last.status.message ?? ''}`;
          }
        }
        status.completionTime ??= now();
        if (setCondition(status, 'Failed', 'True', reason, message)) event(m, 'Warning', reason, message);
      } else {
        launcherStatus.active = launcherRunning;
      }
      status.replicaStatuses = { ...status.replicaStatuses, Launcher: counts(launcherStatus) };
    }
    const worker = { active: 0, succeeded: 0, failed: 0 };
    let evicted = 0;
    for (const w of workers) {
      if (w.status?.phase === 'Failed') {
        worker.failed++;
        if (w.status.reason === 'Evicted') evicted++;
      } else if (w.status?.phase === 'Succeeded') worker.succeeded++;
      else if (w.status?.phase === 'Running') worker.active++;
    }
    status.replicaStatuses = { ...status.replicaStatuses, Worker: counts(worker) };
    if (evicted > 0)
      setCondition(status, 'Failed', 'True', 'MPIJobEvicted', `${evicted}/${workers.length} workers are evicted`);
    if (suspended) setCondition(status, 'Running', 'False', 'MPIJobSuspended', `MPIJob ${ns}/${name} is suspended.`);
    else if (isFinished(status)) {
      if (!(status.conditions ?? []).some((c) => c.type === 'Running')) {
        const at = status.completionTime ?? now();
        status.conditions.push({
          type: 'Running',
          status: 'False',
          reason: 'MPIJobRunning',
          message: `MPIJob ${ns}/${name} is finished but Running condition was never set.`,
          lastTransitionTime: at,
          lastUpdateTime: at,
        });
      }
    } else if (launcher && launcherRunning >= 1 && worker.active === workers.length) {
      if (setCondition(status, 'Running', 'True', 'MPIJobRunning', `MPIJob ${ns}/${name} is running.`))
        event(m, 'Normal', 'MPIJobRunning', `MPIJob ${ns}/${name} is running`);
    }
    write(stored, status);
  }

  function write(stored, status) {
    if (JSON.stringify(stored.status ?? {}) === JSON.stringify(status)) return;
    const current = api.get('mpijobs', stored.metadata.namespace, stored.metadata.name);
    if (current) api.update('mpijobs', { ...current, status });
  }

  /** The MPIJob that controls an object: directly, or through the launcher Job its pod belongs to (handleObject). */
  function ownerMpiJob(obj) {
    let ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller);
    if (ref?.kind === 'Job')
      ref = (api.get('jobs', obj.metadata.namespace, ref.name)?.metadata.ownerReferences ?? []).find(
        (r) => r.controller,
      );
    return ref?.kind === 'MPIJob' && ref.apiVersion === apiVersion ? ref.name : undefined;
  }

  api.onChange((resource, type, obj) => {
    if (controls.paused) return;
    const ns = obj.metadata.namespace;
    if (resource === 'mpijobs') {
      if (type !== 'DELETED') {
        if (controls.operatorLagMs > 0) setTimeout(() => sync(ns, obj.metadata.name), controls.operatorLagMs);
        else sync(ns, obj.metadata.name);
      } else {
        // The garbage collector: what the MPIJob owned goes with it (background propagation).
        for (const r of ['jobs', 'pods', 'configmaps', 'secrets', 'services']) {
          for (const o of api.objects(r))
            if (
              o.metadata.namespace === ns &&
              (o.metadata.ownerReferences ?? []).some((ref) => ref.uid === obj.metadata.uid)
            )
              api.remove(r, ns, o.metadata.name);
        }
      }
      return;
    }
    if (
      resource === 'jobs' ||
      resource === 'pods' ||
      resource === 'configmaps' ||
      resource === 'secrets' ||
      resource === 'services'
    ) {
      const owner = ownerMpiJob(obj);
      if (owner && api.served('mpijobs')) sync(ns, owner);
    }
  });
}
