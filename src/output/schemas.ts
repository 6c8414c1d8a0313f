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
const standing = <const S extends readonly [string, ...string[]]>(states: S) => ({
  state: z.enum(states),
  reason: z.string().optional(),
});

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
    z.strictObject({
      name: z.string(),
      ready: z.boolean(),
      roles: z.array(z.string()),
      version: z.string(),
      reason: z.string().optional(),
    }),
  ),
  stack: z
    .strictObject({
      namespace: z.string(),
      deployments: z.array(
        z.strictObject({ name: z.string(), ready: z.number().int(), desired: z.number().int(), upToDate: z.boolean() }),
      ),
      volumes: z.array(z.strictObject({ name: z.string(), phase: z.string(), capacity: z.string().optional() })),
      services: z.array(
        z.strictObject({
          name: z.string(),
          type: z.string(),
          clusterIP: z.string().optional(),
          ports: z.array(z.string()),
        }),
      ),
      simulations: z.array(
        z.strictObject({
          name: z.string(),
          tool: z.string(),
          runId: z.string().optional(),
          state: z.string(),
          startedAt: time,
        }),
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
    sweep: z
      .strictObject({ total: z.number().int(), succeeded: z.number().int(), failed: z.number().int() })
      .optional(),
    nodes: z.number().int().optional(),
    image: z.string().optional(),
  }),
);

/** `jobs --orphans`: run directories on this machine whose run is not in the context compared with. */
export const jobsOrphansSchema = z.strictObject({
  context: z.string(),
  orphans: z.array(
    z.strictObject({
      runId: z.string(),
      tool: z.string(),
      dir: z.string().startsWith('/'),
      recorded: z.boolean(),
      submittedAt: z.string(),
      bytes: z.number().int(),
      image: z.string().optional(),
    }),
  ),
  otherClusters: z.array(z.strictObject({ context: z.string(), directories: z.number().int() })),
  leftOut: z.array(z.string()),
});

export const doctorSchema = z.strictObject({
  ok: z.boolean(),
  checks: z.array(
    z.strictObject({
      name: z.string(),
      status: z.enum(['ok', 'warn', 'fail']),
      detail: z.string(),
      hint: z.string().optional(),
    }),
  ),
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
  conditions: z.array(
    z.strictObject({
      type: z.string(),
      status: z.string(),
      reason: z.string().optional(),
      message: z.string().optional(),
    }),
  ),
  containers: z.array(
    z.strictObject({
      pod: z.string(),
      name: z.string(),
      image: z.string(),
      ...standing(['waiting', 'running', 'terminated', 'unknown']),
      exitCode: z.number().int().optional(),
      ready: z.boolean(),
      restarts: z.number().int(),
      lastTermination: z
        .strictObject({
          reason: z.string().optional(),
          exitCode: z.number().int().optional(),
          finishedAt: z.string().optional(),
        })
        .optional(),
    }),
  ),
  mounts: z.array(
    z.strictObject({
      container: z.string(),
      path: z.string(),
      volume: z.string(),
      source: z.string(),
      readOnly: z.boolean(),
    }),
  ),
  events: eventsSchema,
});

/** `keystone top -o json` (src/operate/metrics.ts). */
export const topSchema = z.strictObject({
  nodes: z.array(
    z.strictObject({
      name: z.string(),
      cpuMillicores: z.number().int(),
      cpuPercent: z.number().int().optional(),
      memoryBytes: z.number().int(),
      memoryPercent: z.number().int().optional(),
    }),
  ),
  pods: z.array(z.strictObject({ name: z.string(), cpuMillicores: z.number().int(), memoryBytes: z.number().int() })),
});

/** A run's record (runs/record/record.ts: where it is kept, its checksum); `jobs show` prints it. */
const recordDigest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

export const runOutcomeSchema = z.strictObject({
  state: z.enum(['Pending', 'Running', 'Succeeded', 'Failed']),
  /** How it ended; absent while it runs. */
  ended: z.enum(['succeeded', 'failed', 'cancelled', 'timed-out']).optional(),
  reason: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  exitCode: z.number().int().optional(),
  /** The nodes its pods ran on. */
  nodes: z.array(z.string()),
  /** What the container runtime reports it ran (pods' status imageID): repo@sha256:… or, for an image with no registry digest, sha256:<image ID>. */
  imageIds: z.array(z.string()),
});

export const runRecordSchema = z.strictObject({
  apiVersion: z.literal('keystone.io/v1'),
  kind: z.literal('RunRecord'),
  runId: z.string(),
  tool: z.string(),
  /** A Job, or across nodes an MPIJob. */
  runKind: z.enum(['Job', 'MPIJob']),
  job: z.string(),
  keystoneVersion: z.string(),
  /** keystone's arguments as typed, except that every --env value is replaced by "…" (names only). */
  argv: z.array(z.string()),
  /** The names of the --env variables (their values are never recorded). */
  env: z.array(z.string()),
  /** The tool's profile as it was used (k8s/simulations/profiles.yaml at submission). */
  profile: z.record(z.string(), z.unknown()),
  /** The template Job the run was built from, and a SHA-256 of its pod template (canonical JSON). */
  template: z.strictObject({ name: z.string(), sha256: recordDigest }),
  image: z.strictObject({
    /** The image asked for: --image, else the template's. */
    requested: z.string(),
    /** What the run's pod was given: name@sha256:… when pinned by digest, else the tag. */
    ref: z.string(),
    /** The registry digest (a manifest's), or null for an image no registry holds. */
    digest: recordDigest.nullable(),
    /** Docker's image ID of the tag at submission (this machine), when known. */
    id: recordDigest.nullable(),
    /** How the image is pinned: by its registry digest, or (no digest) by image ID, checked on rerun. */
    pinnedBy: z.enum(['digest', 'image-id']),
    /** Where the digest came from (the given reference, the cluster's registry record, the nodes, Docker, the registry). */
    source: z.string(),
  }),
  input: z.strictObject({
    name: z.string(),
    kind: z.enum(['file', 'directory']),
    /** Where it was taken from, relative to data/ (or absolute when it was elsewhere). */
    path: z.string(),
    /** docs/output.md "Input digest": sha256sum of a file, or of a directory's sha256sum listing. */
    sha256: recordDigest,
    bytes: z.number().int(),
    files: z.number().int(),
  }),
  /** What rerun needs to submit the same run again (besides profile, image and input). */
  request: z.strictObject({
    args: z.array(z.string()),
    retries: z.number().int(),
    ranks: z.number().int(),
    nodes: z.number().int(),
    cpus: z.string().optional(),
    memory: z.string().optional(),
    deadlineSeconds: z.number().int().optional(),
    sweep: z
      .strictObject({ names: z.array(z.string()), combinations: z.array(z.record(z.string(), z.string())) })
      .optional(),
    parallel: z.number().int().optional(),
    volumeSize: z.string().optional(),
  }),
  cluster: z.strictObject({ name: z.string(), context: z.string(), local: z.boolean(), server: z.string().optional() }),
  submittedAt: z.string(),
  /** The run this one reran (`keystone jobs rerun`). */
  rerunOf: z.string().optional(),
  outcome: runOutcomeSchema.optional(),
  checksum: recordDigest,
});

/** `jobs show`: the run's record as kept (file, else the cluster's), the outcome now, and where the record is. */
export const jobsShowSchema = z.strictObject({
  record: runRecordSchema,
  outcome: runOutcomeSchema.nullable(),
  recordFile: z.string().nullable(),
  inCluster: z.boolean(),
});

export const outputSchemas = {
  status: statusSchema,
  pods: podsSchema,
  jobs: jobsSchema,
  jobsShow: jobsShowSchema,
  jobsOrphans: jobsOrphansSchema,
  doctor: doctorSchema,
  progress: progressEventSchema,
  events: eventsSchema,
  rollback: rollbackSchema,
  describe: describeSchema,
  top: topSchema,
} as const;
