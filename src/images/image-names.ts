/** Image references as containerd stores them: "redis:7" is "docker.io/library/redis:7". */
export function normalizeImage(image: string): string {
  let name = image;
  const first = name.split('/')[0] ?? '';
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
  const last = name.split('/').pop() ?? '';
  if (!last.includes(':') && !last.includes('@')) name = `${name}:latest`;
  return name;
}

/** True for ":latest" or untagged references, which Kubernetes pulls by default (pull policy Always). */
export function isFloatingTag(image: string): boolean {
  return normalizeImage(image).endsWith(':latest');
}

/** "keystone/lammps:0.1.0", "…:0.1.0@sha256:…" → "docker.io/keystone/lammps": the repository, tag and digest dropped. */
export function repositoryOf(image: string): string {
  const normalized = normalizeImage(image);
  const at = normalized.indexOf('@');
  const name = at >= 0 ? normalized.slice(0, at) : normalized;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
}
