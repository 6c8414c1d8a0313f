/**
 * Errors that reach the user. Everything thrown in keystone that the user should see
 * is a KeystoneError: a one-line reason, an optional hint, and the exit code to use.
 * Only src/main.ts turns them into an exit.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  interrupted: 130,
} as const;

export interface KeystoneErrorOptions {
  hint?: string;
  exitCode?: number;
  cause?: unknown;
  /** Extra lines (e.g. the tool's own output) shown only with --verbose. */
  details?: string;
}

export class KeystoneError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: string | undefined;

  constructor(message: string, options: KeystoneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeystoneError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.details = options.details;
  }
}

/** Bad input from the user: exit code 2, like commander's own usage errors. */
export class UsageError extends KeystoneError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: ExitCode.usage });
    this.name = 'UsageError';
  }
}

/** The user pressed Ctrl-C (or the process got SIGTERM). */
export class InterruptedError extends KeystoneError {
  constructor(message = 'interrupted', hint?: string) {
    super(message, { hint, exitCode: ExitCode.interrupted });
    this.name = 'InterruptedError';
  }
}

/**
 * The abort reason when stdout's reader went away (EPIPE): commands stop as on Ctrl-C, and a
 * followed run says it was detached for this reason.
 */
export const stdoutClosedReason = 'stdout was closed (the reading end of the pipe went away)';
