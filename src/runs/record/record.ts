/**
 * A run's record: what produced data/<tool>/runs/<id>/ and how to run it again, as accounting
 * (`sacct -j`) keeps it. It is written once, at submission (the outcome is added when the run has
 * ended), and kept in two places: run-record.json in the run directory (local runs) and the
 * keystone.io/run-record annotation of the run's Job or MPIJob (every run; readable from the
 * cluster for runs on another one).
 *
 * A record carries a checksum (SHA-256 of its canonical JSON without the checksum), so a record
 * edited by hand, or cut short, is refused with a clear error instead of being trusted: it is an
 * integrity check against accidents, not a signature.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { KeystoneError } from '../../errors.js';

export const recordFileName = 'run-record.json';
/** The run's own copy of its input, as it was submitted (the run may change the staged one: OpenFOAM writes into its case). */
export const recordInputDir = '.keystone/input';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

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
  template: z.strictObject({ name: z.string(), sha256: digest }),
  image: z.strictObject({
    /** The image asked for: --image, else the template's. */
    requested: z.string(),
    /** What the run's pod was given: name@sha256:… when pinned by digest, else the tag. */
    ref: z.string(),
    /** The registry digest (a manifest's), or null for an image no registry holds. */
    digest: digest.nullable(),
    /** Docker's image ID of the tag at submission (this machine), when known. */
    id: digest.nullable(),
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
    sha256: digest,
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
    sweep: z.strictObject({ names: z.array(z.string()), combinations: z.array(z.record(z.string(), z.string())) }).optional(),
    parallel: z.number().int().optional(),
    volumeSize: z.string().optional(),
  }),
  cluster: z.strictObject({ name: z.string(), context: z.string(), local: z.boolean(), server: z.string().optional() }),
  submittedAt: z.string(),
  /** The run this one reran (`keystone jobs rerun`). */
  rerunOf: z.string().optional(),
  outcome: runOutcomeSchema.optional(),
  checksum: digest,
});

export type RunRecord = z.infer<typeof runRecordSchema>;
export type RunOutcome = z.infer<typeof runOutcomeSchema>;
export type UnsealedRecord = Omit<RunRecord, 'checksum'>;

/** JSON with object keys sorted at every level: the same record always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sorted(value));
}

export const sha256Of = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** The record with its checksum (over everything else). */
export function sealRecord(record: UnsealedRecord | RunRecord): RunRecord {
  const { checksum: _old, ...rest } = record as RunRecord;
  return { ...rest, checksum: sha256Of(canonicalJson(rest)) } as RunRecord;
}

export class RecordError extends KeystoneError {}

/** Parses a record (file text or annotation) and checks its checksum; `where` names it in errors. */
export function parseRecord(text: string, where: string): RunRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RecordError(`the run record ${where} is not valid JSON (cut short or edited by hand)`, { hint: 'keystone wrote it whole; restore it from a backup, or see the run in the cluster with `keystone describe <run-id>`' });
  }
  const parsed = runRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RecordError(`the run record ${where} is not one keystone wrote: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, { hint: 'it was edited by hand, or written by another keystone version; nothing was changed' });
  }
  const { checksum, ...rest } = parsed.data;
  if (sha256Of(canonicalJson(rest)) !== checksum) {
    throw new RecordError(`the run record ${where} was changed after keystone wrote it (its checksum does not match)`, { hint: 'a record edited by hand cannot say what produced the run; restore the original, or rerun from the input by hand' });
  }
  return parsed.data;
}

export const recordText = (record: RunRecord): string => `${JSON.stringify(record, null, 2)}\n`;

/** keystone's argv with each --env value replaced: the record keeps names only. */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--env' && i + 1 < argv.length) {
      out.push(a, redactPair(argv[++i]!));
    } else if (a.startsWith('--env=')) {
      out.push(`--env=${redactPair(a.slice('--env='.length))}`);
    } else out.push(a);
  }
  return out;
}

const redactPair = (pair: string) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=…` : pair);
