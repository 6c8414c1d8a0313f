/** k3d's defaults for the config fields keystone reads, and how keystone says it used them (no zod: state.ts reads this). */

/**
 * k3d v5.8.3's defaults: cmd/cluster/clusterCreate.go (cfgViper.SetDefault("servers", 1),
 * ("agents", 0)) and pkg/config/transform.go (an unnamed cluster is k3d.DefaultClusterName,
 * "k3s-default", pkg/types/defaults.go).
 */
export const k3dDefaults = { name: 'k3s-default', servers: 1, agents: 0 } as const;

/** A value keystone filled in because the config leaves it to k3d's default. */
export interface ConfigDefault {
  field: string;
  value: string | number;
}

/** "k3d's defaults, not set in the config: servers 1, agents 0", or "" when nothing was defaulted. */
export function describeDefaults(defaults: ConfigDefault[]): string {
  if (defaults.length === 0) return '';
  const list = defaults
    .map((d) => `${d.field} ${typeof d.value === 'string' ? JSON.stringify(d.value) : d.value}`)
    .join(', ');
  return `k3d's default${defaults.length === 1 ? '' : 's'}, not set in the config: ${list}`;
}
