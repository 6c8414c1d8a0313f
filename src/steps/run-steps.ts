/**
 * Commands like setup are an ordered list of steps (kind's create actions are the model):
 * each may say it is already satisfied (and is skipped), runs with progress, and the runner
 * stops at the first failure saying what was done and what was not.
 */
import { KeystoneError, InterruptedError } from '../errors.js';
import type { StepHandle, Ui } from '../ui/ui.js';

export interface Step {
  title: string;
  /** Returns a reason when there is nothing to do (the step is then skipped). */
  satisfied?: () => Promise<string | undefined>;
  /** Does the work; the returned text replaces the title in the success line. */
  run: (progress: StepHandle) => Promise<string | void>;
}

export interface StepRecord {
  title: string;
  outcome: 'done' | 'skipped' | 'failed' | 'not run';
  ms: number;
  detail?: string;
}

export class StepsFailedError extends KeystoneError {
  constructor(
    cause: KeystoneError,
    readonly records: StepRecord[],
  ) {
    super(cause.message, { hint: cause.hint, exitCode: cause.exitCode, details: cause.details, cause });
  }
}

export async function runSteps(ui: Ui, steps: readonly Step[], signal?: AbortSignal): Promise<StepRecord[]> {
  await ui.prepareSpinner();
  const records: StepRecord[] = steps.map((s) => ({ title: s.title, outcome: 'not run', ms: 0 }));
  for (const [i, step] of steps.entries()) {
    const record = records[i]!;
    const started = Date.now();
    const handle = ui.step(step.title);
    try {
      if (signal?.aborted) throw new InterruptedError();
      const skipReason = step.satisfied ? await step.satisfied() : undefined;
      if (skipReason) {
        handle.skip(skipReason);
        record.outcome = 'skipped';
        record.detail = skipReason;
      } else {
        const text = await step.run(handle);
        handle.succeed(text || undefined);
        record.outcome = 'done';
        if (text) record.detail = text;
      }
      record.ms = Date.now() - started;
    } catch (err) {
      record.ms = Date.now() - started;
      record.outcome = 'failed';
      const error =
        err instanceof KeystoneError
          ? signal?.aborted && !(err instanceof InterruptedError)
            ? new InterruptedError(`interrupted during "${step.title}"`)
            : err
          : new KeystoneError(`${step.title}: ${(err as Error).message}`, { cause: err });
      handle.fail(error.message);
      throw new StepsFailedError(error, records);
    }
  }
  return records;
}
