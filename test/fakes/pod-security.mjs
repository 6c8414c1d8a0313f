// Pod Security admission for the fake API server: a namespace labelled
// pod-security.kubernetes.io/enforce=<level> refuses pods that break the level, with the
// admission plugin's message (kubernetes/kubernetes staging/src/k8s.io/pod-security-admission:
// admission/admission.go "violates PodSecurity %q: %s", policy.AggregateCheckResults joining
// "reason (detail)" with ", "; the checks below are policy/check_*.go). Covered: baseline's
// privileged, host namespaces, hostPath volumes, host ports, added capabilities; restricted's
// volume types, allowPrivilegeEscalation, capabilities (drop ALL, add at most NET_BIND_SERVICE),
// runAsNonRoot, runAsUser=0 and seccompProfile. Enforce applies to pods only: a Job in such a
// namespace is created, and the Job controller's pod creations are refused (FailedCreate).

const enforceLabel = 'pod-security.kubernetes.io/enforce';
const levels = ['privileged', 'baseline', 'restricted'];

/** The level a namespace enforces ("privileged" when it says nothing). */
export function enforcedLevel(namespace) {
  const level = namespace?.metadata?.labels?.[enforceLabel];
  return levels.includes(level) ? level : 'privileged';
}

const pluralize = (one, many, n) => (n === 1 ? one : many);
const joinQuote = (names) => names.map((n) => JSON.stringify(n)).join(', ');
const containersOf = (spec) => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];

// Volume types the restricted level allows (policy/check_restrictedVolumes.go).
const allowedVolumeTypes = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** @returns {{reason: string, detail: string}[]} the failed checks of `level` for a pod spec. */
export function podSecurityViolations(spec, level) {
  if (level === 'privileged') return [];
  const out = [];
  const containers = containersOf(spec);
  const podSc = spec.securityContext ?? {};
  // --- baseline ---
  const privileged = containers.filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  if (privileged.length)
    out.push({
      reason: 'privileged',
      detail: `${pluralize('container', 'containers', privileged.length)} ${joinQuote(privileged)} must not set securityContext.privileged=true`,
    });
  const hostNs = ['hostNetwork', 'hostPID', 'hostIPC'].filter((k) => spec[k] === true).map((k) => `${k}=true`);
  if (hostNs.length) out.push({ reason: 'host namespaces', detail: hostNs.join(', ') });
  const hostPathVolumes = (spec.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name);
  if (hostPathVolumes.length)
    out.push({
      reason: 'hostPath volumes',
      detail: `${pluralize('volume', 'volumes', hostPathVolumes.length)} ${joinQuote(hostPathVolumes)}`,
    });
  const hostPorts = containers.flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort).map((p) => String(p.hostPort)));
  if (hostPorts.length)
    out.push({
      reason: 'hostPort',
      detail: `${pluralize('container', 'containers', 1)} uses ${pluralize('hostPort', 'hostPorts', hostPorts.length)} ${hostPorts.join(', ')}`,
    });
  const baselineCaps = new Set([
    'AUDIT_WRITE',
    'CHOWN',
    'DAC_OVERRIDE',
    'FOWNER',
    'FSETID',
    'KILL',
    'MKNOD',
    'NET_BIND_SERVICE',
    'SETFCAP',
    'SETGID',
    'SETPCAP',
    'SETUID',
    'SYS_CHROOT',
  ]);
  const badAdds = containers.flatMap((c) =>
    (c.securityContext?.capabilities?.add ?? [])
      .filter((cap) => !baselineCaps.has(cap))
      .map((cap) => ({ c: c.name, cap })),
  );
  if (badAdds.length)
    out.push({
      reason: 'non-default capabilities',
      detail: `${pluralize('container', 'containers', new Set(badAdds.map((b) => b.c)).size)} ${joinQuote([...new Set(badAdds.map((b) => b.c))])} must not include ${joinQuote([...new Set(badAdds.map((b) => b.cap))])} in securityContext.capabilities.add`,
    });
  if (level === 'baseline') return out;
  // --- restricted ---
  const restrictedVolumes = (spec.volumes ?? [])
    .map((v) => ({ name: v.name, type: Object.keys(v).find((k) => k !== 'name') }))
    .filter((v) => !allowedVolumeTypes.has(v.type));
  if (restrictedVolumes.length) {
    out.push({
      reason: 'restricted volume types',
      detail: restrictedVolumes
        .map((v) => `volume ${JSON.stringify(v.name)} uses restricted volume type ${JSON.stringify(v.type)}`)
        .join(', '),
    });
  }
  const escalating = containers.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
  if (escalating.length)
    out.push({
      reason: 'allowPrivilegeEscalation != false',
      detail: `${pluralize('container', 'containers', escalating.length)} ${joinQuote(escalating)} must set securityContext.allowPrivilegeEscalation=false`,
    });
  const noDrop = containers
    .filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'))
    .map((c) => c.name);
  const extraAdds = containers
    .filter((c) => (c.securityContext?.capabilities?.add ?? []).some((cap) => cap !== 'NET_BIND_SERVICE'))
    .map((c) => c.name);
  const capDetails = [];
  if (noDrop.length)
    capDetails.push(
      `${pluralize('container', 'containers', noDrop.length)} ${joinQuote(noDrop)} must set securityContext.capabilities.drop=["ALL"]`,
    );
  if (extraAdds.length)
    capDetails.push(
      `${pluralize('container', 'containers', extraAdds.length)} ${joinQuote(extraAdds)} must not include capabilities other than "NET_BIND_SERVICE" in securityContext.capabilities.add`,
    );
  if (capDetails.length) out.push({ reason: 'unrestricted capabilities', detail: capDetails.join('; ') });
  // runAsNonRoot: the pod's true covers containers that do not say false (check_runAsNonRoot.go).
  if (podSc.runAsNonRoot === false)
    out.push({ reason: 'runAsNonRoot != true', detail: 'pod must not set securityContext.runAsNonRoot=false' });
  else {
    const notNonRoot = containers
      .filter((c) => (c.securityContext?.runAsNonRoot ?? podSc.runAsNonRoot) !== true)
      .map((c) => c.name);
    if (notNonRoot.length)
      out.push({
        reason: 'runAsNonRoot != true',
        detail: `pod or ${pluralize('container', 'containers', notNonRoot.length)} ${joinQuote(notNonRoot)} must set securityContext.runAsNonRoot=true`,
      });
  }
  const rootUsers = [
    podSc.runAsUser === 0 ? 'pod' : undefined,
    ...containers.filter((c) => c.securityContext?.runAsUser === 0).map((c) => `container ${JSON.stringify(c.name)}`),
  ].filter(Boolean);
  if (rootUsers.length)
    out.push({ reason: 'runAsUser=0', detail: `${rootUsers.join(' and ')} must not set runAsUser=0` });
  // check_seccompProfile_restricted.go (seccompProfileRestricted_1_19): a bad value set anywhere,
  // the pod's included, is refused even when every container sets a good one.
  const okSeccomp = (type) => type === 'RuntimeDefault' || type === 'Localhost';
  const badSetters = [];
  const badValues = new Set();
  const podSeccompSet = podSc.seccompProfile !== undefined && okSeccomp(podSc.seccompProfile.type);
  if (podSc.seccompProfile !== undefined && !podSeccompSet) {
    badSetters.push('pod');
    badValues.add(String(podSc.seccompProfile.type));
  }
  const explicitlyBad = [];
  const implicitlyBad = [];
  for (const c of containers) {
    const profile = c.securityContext?.seccompProfile;
    if (profile !== undefined) {
      if (!okSeccomp(profile.type)) {
        explicitlyBad.push(c.name);
        badValues.add(String(profile.type));
      }
    } else if (!podSeccompSet) implicitlyBad.push(c.name);
  }
  if (explicitlyBad.length)
    badSetters.push(`${pluralize('container', 'containers', explicitlyBad.length)} ${joinQuote(explicitlyBad)}`);
  if (badSetters.length)
    out.push({
      reason: 'seccompProfile',
      detail: `${badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote([...badValues].sort())}`,
    });
  else if (implicitlyBad.length)
    out.push({
      reason: 'seccompProfile',
      detail: `pod or ${pluralize('container', 'containers', implicitlyBad.length)} ${joinQuote(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    });
  return out;
}

/** The admission message for a refused pod, or undefined when the namespace's level allows it. */
export function podSecurityRefusal(namespace, podName, spec) {
  const level = enforcedLevel(namespace);
  const violations = podSecurityViolations(spec, level);
  if (violations.length === 0) return undefined;
  return `pods ${JSON.stringify(podName)} is forbidden: violates PodSecurity "${level}:latest": ${violations.map((v) => `${v.reason} (${v.detail})`).join(', ')}`;
}
