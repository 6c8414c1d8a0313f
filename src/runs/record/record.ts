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
import type { z } from 'zod';
import { runOutcomeSchema, runRecordSchema } from '../../output/schemas.js';
import { KeystoneError } from '../../errors.js';

// In the run model, so a listing of run directories reads it without loading zod (runs/record/orphans.ts).
export { recordFileName } from '../model.js';
/** The run's own copy of its input, as it was submitted (the run may change the staged one: OpenFOAM writes into its case). */
export const recordInputDir = '.keystone/input';

export { runOutcomeSchema, runRecordSchema };

export type RunRecord = z.infer<typeof runRecordSchema>;
export type RunOutcome = z.infer<typeof runOutcomeSchema>;
export type UnsealedRecord = Omit<RunRecord, 'checksum'>;

/** JSON with object keys sorted at every level: the same record always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
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
    throw new RecordError(`the run record ${where} is not valid JSON (cut short or edited by hand)`, {
      hint: 'keystone wrote it whole; restore it from a backup, or see the run in the cluster with `keystone describe <run-id>`',
    });
  }
  const parsed = runRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RecordError(
      `the run record ${where} is not one keystone wrote: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      { hint: 'it was edited by hand, or written by another keystone version; nothing was changed' },
    );
  }
  const { checksum, ...rest } = parsed.data;
  if (sha256Of(canonicalJson(rest)) !== checksum) {
    throw new RecordError(`the run record ${where} was changed after keystone wrote it (its checksum does not match)`, {
      hint: 'a record edited by hand cannot say what produced the run; restore the original, or rerun from the input by hand',
    });
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
