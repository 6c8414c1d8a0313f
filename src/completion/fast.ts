/**
 * A TAB without the CLI: bin/keystone.cjs calls this for `keystone __complete` instead of main(),
 * so the commander program is never built (nor commander loaded, with the child_process it
 * requires), which was most of what completion of live names cost beyond Node's own start-up and
 * the one list request (docs/performance.md). The candidates come from the same complete() as
 * the full path, walking the command tree the build rendered from the command table
 * (dist/completion-tree.json, src/completion/tree.ts), with the same target context; only the
 * terminal UI (and its colour library), the process runner and the lock are left out, which a TAB
 * never uses. The build makes this file its own bundle (dist/complete.cjs) without the heavy
 * modules a common TAB never needs (src/completion/full-cli.ts); a TAB that needs one, or that
 * has a warning to print, is left to main().
 */
import { createTargetContext } from '../target-context.js';
import { completionOutput } from './complete.js';
import { fullCliWasNeeded } from './full-cli.js';
import { completionTargetOptions, type CompletionNode } from './tree.js';
// A type only: erased from the TAB bundle, which leaves the UI and its colour library out.
import type { Streams } from '../ui/ui.js';

/**
 * The words of `keystone __complete -- w1 … wn` (what the completion scripts run), or of
 * `__complete w1 … wn` when no word would be read by commander as an option; undefined for
 * anything else, which main() handles.
 */
export function completionWords(argv: readonly string[]): string[] | undefined {
  if (argv[0] !== '__complete') return undefined;
  if (argv[1] === '--') return argv.slice(2);
  const words = argv.slice(1);
  // commander takes any word of two or more characters starting with '-' as an option.
  return words.every((w) => !(w.length > 1 && w.startsWith('-'))) ? words : undefined;
}

export interface FastCompletionIo {
  version: string;
  streams?: Streams;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Prints the candidates as `keystone __complete` does and returns the exit code; undefined when
 * it did not answer (not a plain `__complete`, or a failure — main() then says what is wrong,
 * exactly as without this path; nothing has been printed then).
 */
export async function completeFast(
  argv: readonly string[],
  tree: CompletionNode,
  io: FastCompletionIo,
): Promise<number | undefined> {
  const typed = completionWords(argv);
  if (typed === undefined) return undefined;
  const streams: Streams = io.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const env = io.env ?? process.env;
  // `keystone __complete … | head -0`: as main() does, 141 and no trace.
  let stdoutClosed = false;
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stdoutClosed = true;
  };
  streams.stdout.on('error', onStdoutError);
  streams.stderr.on('error', () => undefined);
  // What main() gives the __complete command: --context/--kubeconfig from the words, no
  // --verbose (so nothing is logged); a warning (a kubeconfig others can read) is main()'s to print.
  const warnings: string[] = [];
  const options = completionTargetOptions(typed);
  const warn = (line: string): never => {
    warnings.push(line);
    // Before any request: main() makes it, and a TAB should not wait for the API twice.
    throw new Error(`the full CLI prints this warning: ${line}`);
  };
  const cluster = createTargetContext({
    env,
    cwd: io.cwd ?? process.cwd(),
    options,
    log: () => undefined,
    warn,
    requestTimeoutMs: 30_000,
  });
  let output: string | undefined;
  try {
    output = await completionOutput({ ...cluster, version: io.version, options }, tree, typed.length ? typed : ['']);
  } catch {
    // main() says what is wrong
  } finally {
    await cluster.close();
  }
  // A failure, a warning to print, or a module the TAB bundle left out: main() answers (nothing printed yet).
  if (output === undefined || warnings.length > 0 || fullCliWasNeeded() !== undefined) {
    streams.stdout.off('error', onStdoutError);
    return undefined;
  }
  streams.stdout.write(`${output}\n`);
  return stdoutClosed ? 141 : 0;
}
