/**
 * The one place that turns outcomes into exit codes: 0 ok, 1 failure, 2 usage error,
 * 130 interrupted. Errors print one line and a hint; stack traces only with --verbose.
 */
import { readFileSync } from 'node:fs';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from './cli.js';
import { createAppContext, type GlobalOptions } from './app-context.js';
import { ExitCode, InterruptedError, KeystoneError, stdoutClosedReason } from './errors.js';
import { colorLevel, maskSecrets, Ui, type Streams } from './ui/ui.js';
import { OutputSink } from './ui/output-sink.js';
import { StepsFailedError, type StepRecord } from './steps/run-steps.js';
import type { Execute, Runner } from './exec/runner.js';
import type { Machine } from './machine.js';
import type { Clock } from './clock.js';
import { checkEnvironment } from './environment.js';

export interface MainIo {
  streams?: Streams;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  runner?: Runner;
  /** How the default runner starts tools (tests run fake tools in process); default: child processes. */
  execute?: Execute;
  /** keystone's stdin (passed to `shell`); default: process.stdin. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Tests pass their own; otherwise SIGINT/SIGTERM abort it. */
  signal?: AbortSignal;
  /** What keystone reads from the machine (free disk space); default: this machine. */
  machine?: Machine;
  /** Tests pass their own; default: the system's. */
  clock?: Clock;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const streams: Streams = io.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const env = io.env ?? process.env;
  let exitCode: number = ExitCode.ok;
  let ui: Ui | undefined;

  const controller = new AbortController();
  const removeSignalHandlers = io.signal ? () => {} : installSignalHandlers(controller, () => ui);
  if (io.signal) {
    if (io.signal.aborted) controller.abort();
    else io.signal.addEventListener('abort', () => controller.abort(), { once: true });
  }
  const signal = controller.signal;

  // Every byte of data goes through one sink (src/ui/output-sink.ts). `keystone run-simulation … |
  // head -1`: when the reader goes away, stop as on Ctrl-C (a followed run is detached, not
  // cancelled, and says so on stderr), and never exit 0 for output that was not delivered or a
  // run that did not finish. A command that failed keeps its code.
  const sink = new OutputSink(streams.stdout);
  let returned = false;
  sink.onLost((err) => {
    // Output still flushing after main returned 0 was lost too: not a success.
    if (returned && streams.stdout === process.stdout && !process.exitCode)
      process.exitCode = err.code === 'EPIPE' ? brokenPipeExit : ExitCode.failure;
    // Silent here, as `yes | head -1` is; a followed run says it detached and why.
    controller.abort(stdoutClosedReason);
  });
  // `keystone … 2>&1 | head`: nothing more can be said; do not crash on it.
  streams.stderr.on('error', () => undefined);

  const version = packageVersion();
  const program = buildProgram(version, async (options: GlobalOptions, body) => {
    ui = new Ui(streams, { quiet: Boolean(options.quiet), verbose: Boolean(options.verbose), env }, sink);
    const app = createAppContext({
      version,
      argv,
      ui,
      env,
      cwd: io.cwd ?? process.cwd(),
      options,
      signal,
      runner: io.runner,
      execute: io.execute,
      machine: io.machine,
      clock: io.clock,
      // Given streams (tests, embedding) are what an interactive child sees too; otherwise the real terminal.
      terminal:
        io.streams || io.stdin
          ? { stdin: io.stdin ?? 'ignore', stdout: streams.stdout, stderr: streams.stderr }
          : undefined,
      stdinIsTTY: Boolean((io.stdin ?? (io.streams ? undefined : process.stdin))?.isTTY),
      stdin: io.stdin,
    });
    try {
      // Ctrl-C before the command began: it does not begin.
      if (signal.aborted) throw new InterruptedError();
      // keystone's environment variables, for every command alike (a bad one is exit 2); a TAB
      // never prints an error (the completion scripts would show it mid-line).
      if (argv[0] !== '__complete') checkEnvironment(env, io.cwd ?? process.cwd());
      const code = await body(app);
      if (typeof code === 'number') exitCode = code;
      // Ctrl-C came while the command ran: whatever it made of the requests and checks it stopped
      // (a report with gaps, a check that "failed"), it was interrupted: 130. A code of its own
      // (a run's exit code) stands.
      if (signal.aborted && (exitCode === ExitCode.ok || exitCode === ExitCode.failure))
        exitCode = ExitCode.interrupted;
    } finally {
      await app.close();
    }
  });
  // Every command, nested ones included (commander copies the output settings into a subcommand
  // when it is created, so setting them on the program alone leaves `pods --help` on process.stdout):
  // help, usage errors and their width and colour follow the given streams and env.
  const hasColors = (stream: Streams['stdout']) => colorLevel(env, Boolean(stream.isTTY)) > 0;
  const output = {
    writeOut: (text: string) => sink.write(text),
    writeErr: (text: string) => streams.stderr.write(text),
    outputError: (text: string, write: (text: string) => void) => write(asTyped(text, argv)),
    getOutHelpWidth: () => (streams.stdout.isTTY && streams.stdout.columns) || 80, // 80: commander's own width when not a terminal
    getErrHelpWidth: () => (streams.stderr.isTTY && streams.stderr.columns) || 80,
    getOutHasColors: () => hasColors(streams.stdout),
    getErrHasColors: () => hasColors(streams.stderr),
  };
  const configure = (command: Command) => {
    command.exitOverride().configureOutput(output);
    for (const sub of command.commands) configure(sub);
  };
  configure(program);

  const messages = () =>
    ui ?? new Ui(streams, { quiet: false, verbose: argv.includes('--verbose') || argv.includes('-v'), env }, sink);
  let code: number;
  try {
    if (argv.length === 0) sink.write(program.helpInformation());
    else if (unknownHelpTopic(program, argv)) {
      // commander answers `help bogus` with the program's help and exit 0, as if it were known.
      streams.stderr.write(
        `error: unknown command '${argv.slice(1).join(' ')}'\n(run \`keystone --help\` for the commands)\n`,
      );
      exitCode = ExitCode.usage;
    } else await program.parseAsync(argv, { from: 'user' });
    code = exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      const shown =
        err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      if (err.code === 'commander.unknownOption') hintDoubleDash(argv, streams);
      code = shown ? ExitCode.ok : ExitCode.usage; // for a usage error commander has printed the reason (and a suggestion)
    } else {
      const out = messages();
      out.stopSpinner();
      reportError(out, err, signal.aborted, argv.includes('--dry-run'));
      code = signal.aborted ? ExitCode.interrupted : err instanceof KeystoneError ? err.exitCode : ExitCode.failure;
    }
  } finally {
    removeSignalHandlers();
  }
  // Whatever the command printed has reached the OS, or its write has failed, before the exit
  // code is chosen: a table written just before returning could otherwise fail after exit 0.
  await sink.settled();
  returned = true;
  return lostOutputExit(sink, code, messages);
}

/**
 * A command that succeeded (or was stopped) whose data did not all arrive did not succeed: 141
 * when the reader went away (quietly), 1 with the reason for any other failed write. A command
 * that failed keeps its own code (a run's exit code).
 */
function lostOutputExit(sink: OutputSink, code: number, messages: () => Ui): number {
  if (!sink.failure || (code !== ExitCode.ok && code !== ExitCode.interrupted)) return code;
  if (sink.readerGone) return brokenPipeExit;
  messages().error(`could not write to stdout: ${sink.failure.message}`, 'the output is incomplete');
  return ExitCode.failure;
}

/** `keystone help WORDS…` naming no command there is: a usage error, not help and exit 0. */
function unknownHelpTopic(program: Command, argv: string[]): boolean {
  if (argv[0] !== 'help' || argv.length < 2) return false;
  let command: Command | undefined = program;
  for (const word of argv.slice(1)) {
    if (word.startsWith('-')) break;
    command = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!command) return true;
  }
  return false;
}

/** The command tree completion walks; the build writes it to dist/completion-tree.json for src/completion/fast.ts. */
export async function completionTree(): Promise<import('./completion/tree.js').CompletionNode> {
  const { treeOf } = await import('./completion/tree.js');
  return treeOf(buildProgram(packageVersion(), async () => {}));
}

/**
 * What a shell reports for a program ended by SIGPIPE (128 + 13), as `yes | head -1` shows: the
 * exit code when stdout was closed, unless the command has its own failure to report (a run's
 * exit code). 130 stays Ctrl-C's.
 */
const brokenPipeExit = 141;

/**
 * commander splits a cluster of short flags (`-var`: -v, then -a, -r) and reports what is left
 * once a letter is not an option ("unknown option '-ar'"), a word the user never typed. The
 * message names the word as typed, and what it was read as.
 */
function asTyped(message: string, argv: readonly string[]): string {
  const m = /^error: unknown option '(-[^-][^']*)'/.exec(message);
  if (!m) return message;
  const rest = m[1]!.slice(1);
  const end = argv.indexOf('--');
  const typed = (end < 0 ? argv : argv.slice(0, end)).find(
    (a) => /^-[^-]/.test(a) && a.length > rest.length + 1 && a.endsWith(rest),
  );
  if (!typed) return message;
  const read = [...typed.slice(1, typed.length - rest.length)].map((c) => `-${c}`).join(' ');
  return message.replace(`'${m[1]}'`, `'${typed}' (read as ${read}, then '${m[1]}')`);
}

/**
 * `run-simulation lammps in.lj -var T 2.0`: commander reads -var as keystone's options (-v, then
 * "unknown option '-ar'"). The program's own options belong after `--`; say so.
 */
function hintDoubleDash(argv: string[], streams: Streams): void {
  let command: string | undefined;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const arg = argv[i]!;
    if (['--context', '--kubeconfig', '--config', '--timeout'].includes(arg))
      i++; // and its value
    else if (!arg.startsWith('-')) {
      command = arg;
      break;
    }
  }
  if (command === 'run-simulation')
    streams.stderr.write(
      'hint: options for the simulation program go after --, e.g. keystone run-simulation lammps in.lj -- -var T 2.0\n',
    );
  if (command === 'shell')
    streams.stderr.write(
      'hint: options for the command run in the pod go after --, e.g. keystone shell redis -- redis-cli -h localhost\n',
    );
}

function reportError(ui: Ui, err: unknown, interrupted: boolean, dryRun: boolean): void {
  if (err instanceof StepsFailedError) {
    ui.error(err.message, err.hint);
    reportProgress(ui, err.records, interrupted, dryRun);
  } else if (err instanceof KeystoneError) {
    ui.error(err.message, err.hint);
  } else {
    const message = err instanceof Error ? err.message : String(err);
    ui.error(`unexpected error: ${message}`, ui.settings.verbose ? undefined : 'run again with --verbose for details');
  }
  if (ui.settings.verbose) {
    if (err instanceof KeystoneError && err.details) ui.writeErr(maskSecrets(err.details.trimEnd()));
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    if (cause instanceof Error && cause.stack) ui.writeErr(ui.errColor.dim(maskSecrets(cause.stack)));
  }
}

/** After a failed or interrupted run: what was done, and what was not, so nothing half-done goes unsaid. */
function reportProgress(ui: Ui, records: readonly StepRecord[], interrupted: boolean, dryRun: boolean): void {
  const done = records.filter((r) => r.outcome === 'done' || r.outcome === 'skipped').map((r) => r.title);
  const notDone = records.filter((r) => r.outcome === 'failed' || r.outcome === 'not run').map((r) => r.title);
  // A dry run did nothing: its steps were checked, not done.
  if (done.length) ui.writeErr(`${dryRun ? 'checked (dry run, nothing changed)' : 'done'}: ${done.join(', ')}`);
  if (notDone.length)
    ui.writeErr(
      `${dryRun ? 'not checked' : 'not done'}: ${notDone.join(', ')}${interrupted ? ' (run the command again to resume)' : ''}`,
    );
}

function installSignalHandlers(controller: AbortController, currentUi: () => Ui | undefined): () => void {
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count += 1;
    currentUi()?.stopSpinner();
    if (count > 1) process.exit(ExitCode.interrupted); // second Ctrl-C: leave now
    const ui = currentUi();
    if (ui?.announceInterrupt)
      ui.writeErr(
        `\n${sig === 'SIGINT' ? 'Interrupted' : 'Terminated'}: stopping (press Ctrl-C again to quit at once)`,
      );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
