/**
 * THE process seam. Every call to k3d, docker or kubectl goes through a Runner:
 * argv arrays only (never a shell), a deadline on every child, --verbose logging,
 * --dry-run for calls that change the world, and failures turned into KeystoneErrors
 * that carry the tool's own error line.
 */
import { constants as osConstants } from 'node:os';
import { KeystoneError, InterruptedError } from '../errors.js';
import { lastErrorLine, prettyCommand } from './command-line.js';

export interface RunOptions {
  /** Deadline for the child; it is killed (SIGTERM, then SIGKILL) when it passes. */
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  /** When false, a non-zero exit is returned instead of thrown. */
  reject?: boolean;
  /** The call changes the world: under --dry-run it is printed, not run. */
  mutates?: boolean;
  /** 'inherit' passes the terminal through (interactive shells). */
  stdio?: 'pipe' | 'inherit';
}

export interface RunResult {
  command: string;
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Runner {
  run(tool: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Use this executable for a tool instead of looking it up on PATH (e.g. a k3d keystone installed). */
  setToolPath(tool: string, path: string): void;
}

export interface RunnerSettings {
  verbose: boolean;
  dryRun: boolean;
  /** Where --verbose and --dry-run lines go (the ui layer's stderr writer). */
  log: (line: string) => void;
  signal?: AbortSignal;
  /** The environment children get (and whose PATH finds the tools); default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** What `stdio: 'inherit'` passes through; default: this process's own stdin, stdout and stderr. */
  terminal?: Terminal;
  /** The children's working directory; default: this process's. */
  cwd?: string;
  /** How children are started; default: as processes (tests run their fake tools in process). */
  execute?: Execute;
}

/** The streams an interactive child (kubectl exec) is given. */
export interface Terminal {
  stdin: NodeJS.ReadableStream | 'inherit' | 'ignore';
  stdout: NodeJS.WritableStream | 'inherit';
  stderr: NodeJS.WritableStream | 'inherit';
}

export class ToolMissingError extends KeystoneError {
  constructor(readonly tool: string) {
    super(`${tool} is not installed (not found on PATH)`, { hint: installHint(tool) });
  }
}

export function installHint(tool: string): string {
  switch (tool) {
    case 'docker':
      return 'install Docker Engine or Docker Desktop: https://docs.docker.com/engine/install/';
    case 'kubectl':
      return 'install kubectl >= 1.27: https://kubernetes.io/docs/tasks/tools/';
    case 'k3d':
      return 'run `keystone setup` to install k3d, or see https://k3d.io/#installation';
    default:
      return `install ${tool} and make sure it is on PATH`;
  }
}

/** How a child ended, as execa reports it (the fields the runner reads). */
export interface Execution {
  code?: string;
  timedOut?: boolean;
  isCanceled?: boolean;
  exitCode?: number;
  /** The signal that ended the child (SIGPIPE when its stdout's reader went away). */
  signal?: string;
  stdout?: string;
  stderr?: string;
}

export interface ExecuteOptions {
  /** The child's whole environment; its PATH also decides which executable `file` is. */
  env: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Set for interactive children: the streams they are given instead of pipes. */
  terminal?: Terminal;
}

/** Starts `file` and waits for it; never throws for the child's own failure (see Execution). */
export type Execute = (file: string, args: readonly string[], options: ExecuteOptions) => Promise<Execution>;

/** The real thing: a child process through execa, argv only, never a shell. */
export const executeProcess: Execute = async (file, args, options) => {
  const { execa } = await import('execa');
  const terminal = options.terminal;
  // execa takes a stream without a file descriptor only alongside 'pipe' (it then copies the data).
  const pass = (s: Terminal[keyof Terminal]) => (typeof s === 'string' ? s : [s, 'pipe']);
  const stdio = terminal
    ? [pass(terminal.stdin), pass(terminal.stdout), pass(terminal.stderr)]
    : ['pipe', 'pipe', 'pipe'];
  const result = await execa(file, [...args], {
    env: options.env,
    extendEnv: false,
    cwd: options.cwd,
    reject: false,
    timeout: options.timeoutMs,
    forceKillAfterDelay: 3000,
    cancelSignal: options.signal,
    stdin: stdio[0] as 'pipe',
    stdout: stdio[1] as 'pipe',
    stderr: stdio[2] as 'pipe',
    stripFinalNewline: false,
    shell: false,
  });
  const failure = result as unknown as Execution;
  return {
    code: failure.code,
    timedOut: failure.timedOut,
    isCanceled: failure.isCanceled,
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: typeof result.stdout === 'string' ? result.stdout : undefined,
    stderr: typeof result.stderr === 'string' ? result.stderr : undefined,
  };
};

export function createProcessRunner(settings: RunnerSettings): Runner {
  const toolPaths = new Map<string, string>();
  return {
    setToolPath(tool, path) {
      toolPaths.set(tool, path);
    },
    async run(tool, args, options = {}) {
      const command = prettyCommand(tool, args);
      if (settings.dryRun && options.mutates) {
        settings.log(`[dry-run] would run: ${command}`);
        return { command, stdout: '', stderr: '', exitCode: 0 };
      }
      if (settings.verbose) settings.log(`$ ${command}`);
      const file = toolPaths.get(tool) ?? tool;
      const timeout = options.timeoutMs;
      try {
        const result = await (settings.execute ?? executeProcess)(file, args, {
          env: { ...(settings.env ?? process.env), ...options.env },
          cwd: settings.cwd,
          timeoutMs: timeout,
          signal: settings.signal,
          terminal:
            options.stdio === 'inherit'
              ? (settings.terminal ?? { stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' })
              : undefined,
        });
        const failure = result;
        if (failure.code === 'ENOENT') throw new ToolMissingError(tool);
        if (failure.isCanceled) throw new InterruptedError(`interrupted while running ${tool}`);
        if (failure.timedOut) {
          throw new ToolTimeoutError(command, timeout ?? 0);
        }
        const stdout = result.stdout ?? '';
        const stderr = result.stderr ?? '';
        const exitCode = result.exitCode ?? signalExitCode(result.signal);
        if (exitCode !== 0 && options.reject !== false) {
          const reason = lastErrorLine(stderr) || lastErrorLine(stdout) || `exit code ${exitCode}`;
          throw new ToolFailedError(tool, args, exitCode, reason, stderr || stdout);
        }
        return { command, stdout, stderr, exitCode };
      } catch (err) {
        if (err instanceof KeystoneError) throw err;
        const failure = err as Execution;
        if (failure.code === 'ENOENT') throw new ToolMissingError(tool);
        throw new KeystoneError(`could not run ${command}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/**
 * A child ended by a signal, as a shell reports it: 128 + the signal's number (141 for SIGPIPE,
 * the kubectl of `keystone shell … | head -1` whose reader went away). 1 when none is known.
 */
function signalExitCode(signal: string | undefined): number {
  const number = signal === undefined ? undefined : osConstants.signals[signal as NodeJS.Signals];
  return number === undefined ? 1 : 128 + number;
}

/** A tool ran longer than its time limit and was stopped. */
export class ToolTimeoutError extends KeystoneError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command} did not finish within ${Math.round(timeoutMs / 1000)}s`, {
      hint: 'raise --timeout, or run with --verbose to see where it stalls',
    });
    this.name = 'ToolTimeoutError';
  }
}

export class ToolFailedError extends KeystoneError {
  constructor(
    readonly tool: string,
    readonly args: readonly string[],
    readonly toolExitCode: number,
    readonly reason: string,
    output: string,
  ) {
    const down = dockerDown.test(output);
    super(
      down
        ? `${[tool, ...subcommand(args)].join(' ')} failed: Docker is not running (${dockerDownReason(output)})`
        : `${[tool, ...subcommand(args)].join(' ')} failed: ${reason}`,
      {
        details: `command: ${prettyCommand(tool, args)}\nexit code: ${toolExitCode}\n${output}`,
        // Every command that calls docker or k3d says the same when Docker is down (start, stop,
        // delete, import-images, setup, status): the cause and the cure, not the tool's raw line.
        hint: down
          ? 'start Docker (Docker Desktop, or `sudo systemctl start docker` on Linux) and run the command again; `keystone doctor` checks it'
          : undefined,
      },
    );
    this.dockerDown = down;
  }

  /** The tool could not reach the Docker daemon. */
  readonly dockerDown: boolean;
}

/** What docker and k3d print when no daemon answers on the socket (docker/cli; k3d wraps the same text). */
const dockerDown = /Cannot connect to the Docker daemon|Is the docker daemon running\?/;

function dockerDownReason(output: string): string {
  const m = /Cannot connect to the Docker daemon at (\S+?)\.? Is the docker daemon running\?/.exec(output);
  return m ? `cannot connect to the Docker daemon at ${m[1]}` : 'the Docker daemon does not answer';
}

/** The leading words of argv before the first flag ("cluster create" of k3d cluster create --config x). */
function subcommand(args: readonly string[]): string[] {
  const words: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('-') || words.length === 2) break;
    words.push(arg);
  }
  return words;
}
