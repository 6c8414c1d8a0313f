/** How long setup's waits (cluster, nodes, rollout) may take by default; --timeout overrides it. In a
 * module of its own so that `apply` does not load the cluster steps (and zod, via the profiles) for it. */
export const defaultSetupTimeoutMs = 10 * 60_000;
