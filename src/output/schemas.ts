/**
 * The JSON documents read commands print with -o json (and -o yaml): one zod schema each. They
 * are the contract CI scripts rely on (docs/output.md describes them; tests check the commands'
 * real output against them). Strict objects: a field added or dropped is a visible change.
 */
import { z } from 'zod';

/** A time as the API server reports it (RFC 3339), absent until it happened. */
const time = z.string().optional();

/** A sentence on what is not quite right; absent when all is well. */
const warning = z.string().optional();

/**
 * Where a run or a container stands: its state and, when the cluster gives one, why (a short
 * reason such as OOMKilled or DeadlineExceeded). Runs (jobs) and containers (describe) share it.
 */
const standing = <const S extends readonly [string, ...string[]]>(states: S) => ({ state: z.enum(states), reason: z.string().optional() });

const count = z.strictObject({ running: z.number().int(), count: z.number().int() });

export const statusSchema = z.strictObject({
  context: z.string(),
  cluster: z.strictObject({
    name: z.string(),
    managedBy: z.enum(['k3d', 'external']),
    phase: z.enum(['absent', 'stopped', 'degraded', 'running', 'unknown']),
    servers: count.optional(),
    agents: count.optional(),
  }),
  api: z.strictObject({ reachable: z.boolean(), server: z.string().optional(), error: z.string().optional() }),
  nodes: z.array(
    z.strictObject({ name: z.string(), ready: z.boolean(), roles: z.array(z.string()), version: z.string(), reason: z.string().optional() }),
  ),
  stack: z
    .strictObject({
      namespace: z.string(),
      deployments: z.array(z.strictObject({ name: z.string(), ready: z.number().int(), desired: z.number().int(), upToDate: z.boolean() })),
      volumes: z.array(z.strictObject({ name: z.string(), phase: z.string(), capacity: z.string().optional() })),
      services: z.array(z.strictObject({ name: z.string(), type: z.string(), clusterIP: z.string().optional(), ports: z.array(z.string()) })),
      simulations: z.array(
        z.strictObject({ name: z.string(), tool: z.string(), runId: z.string().optional(), state: z.string(), startedAt: time }),
      ),
    })
    .nullable(),
  healthy: z.boolean(),
  verdict: z.string(),
  warning,
});

export const podsSchema = z.array(
  z.strictObject({
    name: z.string(),
    phase: z.string(),
    status: z.string(),
    ready: z.string().regex(/^\d+\/\d+$/),
    restarts: z.number().int(),
    createdAt: time,
    ageSeconds: z.number().int(),
    node: z.string().optional(),
    ip: z.string().optional(),
    healthy: z.boolean(),
    message: z.string().optional(),
    warning,
  }),
);

export const jobsSchema = z.array(
  z.strictObject({
    runId: z.string(),
    tool: z.string(),
    job: z.string(),
    ...standing(['Pending', 'Running', 'Succeeded', 'Failed']),
    startedAt: time,
    finishedAt: time,
    durationSeconds: z.number().int().optional(),
    exitCode: z.number().int().optional(),
    // A path, never a sentence: on this machine when outputLocal, else on outputVolume (as the run's
    // pod sees it) or on the nodes in outputNodes.
    outputDir: z.string().startsWith('/').nullable(),
    outputLocal: z.boolean(),
    outputNodes: z.array(z.string()),
    outputVolume: z.string().optional(),
    sweep: z.strictObject({ total: z.number().int(), succeeded: z.number().int(), failed: z.number().int() }).optional(),
    nodes: z.number().int().optional(),
  }),
);

export const doctorSchema = z.strictObject({
  ok: z.boolean(),
  checks: z.array(z.strictObject({ name: z.string(), status: z.enum(['ok', 'warn', 'fail']), detail: z.string(), hint: z.string().optional() })),
});

/** `run-simulation --progress json`: one event per line on stderr (src/runs/follow/progress.ts). */
export const progressEventSchema = z.strictObject({
  event: z.literal('progress'),
  runId: z.string(),
  index: z.number().int().optional(),
  current: z.number(),
  total: z.number().optional(),
  percent: z.number().optional(),
  overallPercent: z.number().optional(),
  etaSeconds: z.number().int().optional(),
  elapsedSeconds: z.number().int(),
});

/** `keystone events -o json` (src/operate/events.ts). */
export const eventsSchema = z.array(
  z.strictObject({
    type: z.string(),
    reason: z.string(),
    object: z.strictObject({ kind: z.string(), name: z.string() }),
    message: z.string(),
    count: z.number().int(),
    firstSeen: z.string().optional(),
    lastSeen: z.string().optional(),
    source: z.string().optional(),
  }),
);

/** `keystone rollback <deployment> --list -o json` (src/operate/revisions.ts). */
export const rollbackSchema = z.array(
  z.strictObject({
    revision: z.number().int(),
    replicaSet: z.string(),
    images: z.array(z.string()),
    changeCause: z.string().nullable(),
    createdAt: z.string().nullable(),
    current: z.boolean(),
  }),
);

/** `keystone describe <name> -o json` (src/operate/describe.ts). */
export const describeSchema = z.strictObject({
  kind: z.enum(['Deployment', 'Pod', 'Run']),
  name: z.string(),
  status: z.string(),
  healthy: z.boolean(),
  conditions: z.array(z.strictObject({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })),
  containers: z.array(
    z.strictObject({
      pod: z.string(),
      name: z.string(),
      image: z.string(),
      ...standing(['waiting', 'running', 'terminated', 'unknown']),
      exitCode: z.number().int().optional(),
      ready: z.boolean(),
      restarts: z.number().int(),
      lastTermination: z.strictObject({ reason: z.string().optional(), exitCode: z.number().int().optional(), finishedAt: z.string().optional() }).optional(),
    }),
  ),
  mounts: z.array(z.strictObject({ container: z.string(), path: z.string(), volume: z.string(), source: z.string(), readOnly: z.boolean() })),
  events: eventsSchema,
});

/** `keystone top -o json` (src/operate/metrics.ts). */
export const topSchema = z.strictObject({
  nodes: z.array(z.strictObject({ name: z.string(), cpuMillicores: z.number().int(), cpuPercent: z.number().int().optional(), memoryBytes: z.number().int(), memoryPercent: z.number().int().optional() })),
  pods: z.array(z.strictObject({ name: z.string(), cpuMillicores: z.number().int(), memoryBytes: z.number().int() })),
});

export const outputSchemas = { status: statusSchema, pods: podsSchema, jobs: jobsSchema, doctor: doctorSchema, progress: progressEventSchema, events: eventsSchema, rollback: rollbackSchema, describe: describeSchema, top: topSchema } as const;
