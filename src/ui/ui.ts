/**
 * THE output seam. Commands never write to the console directly: data goes to stdout through
 * `data`/`json`, progress and messages go to stderr. A spinner is used only on an interactive
 * terminal (stderr is a TTY, CI is not set, TERM is not dumb); otherwise one plain line per event.
 */
import type { Writable } from 'node:stream';
import { Chalk, type ChalkInstance } from 'chalk';
import { loadYaml } from '../yaml-module.js';
import { systemClock, type Clock } from '../clock.js';
import { OutputSink } from './output-sink.js';

export interface Streams {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export interface UiSettings {
  quiet: boolean;
  verbose: boolean;
  env: NodeJS.ProcessEnv;
  /** What step durations are measured with; default: the system clock. */
  clock?: Pick<Clock, 'now'>;
}

export interface StepHandle {
  /** Progress text shown beside the title ("3/5 nodes Ready"). */
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  skip(reason: string): void;
}

type Spinner = {
  text: string;
  start(): Spinner;
  stop(): Spinner;
  stopAndPersist(options: { symbol: string; text: string }): Spinner;
};
type SpinnerFactory = (options: { text: string; stream: Writable }) => Spinner;

export class Ui {
  /** Colours for data written to stdout: on only when stdout itself is a terminal (`keystone pods > file` has none). */
  readonly color: ChalkInstance;
  /** Colours for messages on stderr: on only when stderr is a terminal. */
  readonly errColor: ChalkInstance;
  readonly interactive: boolean;
  private spinnerFactory: SpinnerFactory | undefined;
  private activeSpinner: Spinner | undefined;
  /** Whether Ctrl-C prints "Interrupted: stopping"; streaming commands (logs -f) end quietly. */
  announceInterrupt = true;
  constructor(
    readonly streams: Streams,
    readonly settings: UiSettings,
    /** Where data goes (stdout); main.ts makes one per invocation and reads its failure. */
    readonly out: OutputSink = new OutputSink(streams.stdout),
  ) {
    const env = settings.env;
    this.interactive = Boolean(streams.stderr.isTTY) && !isTruthy(env.CI) && env.TERM !== 'dumb' && !settings.quiet;
    // Each stream's own: stderr on a terminal and stdout redirected to a file is the common case.
    this.color = new Chalk({ level: colorLevel(env, Boolean(streams.stdout.isTTY)) });
    this.errColor = new Chalk({ level: colorLevel(env, Boolean(streams.stderr.isTTY)) });
  }

  /** Loads the spinner library only when it will be used (it costs start-up time). */
  async prepareSpinner(): Promise<void> {
    if (!this.interactive || this.spinnerFactory) return;
    const { default: ora } = await import('ora');
    this.spinnerFactory = (options) =>
      ora({
        text: options.text,
        stream: options.stream as NodeJS.WritableStream,
        isEnabled: true,
      }) as unknown as Spinner;
  }

  /** Whether a write to stdout failed (its reader went away): data has nowhere to go and is dropped. */
  get stdoutClosed(): boolean {
    return this.out.lost;
  }

  data(text: string): void {
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  json(value: unknown): void {
    this.data(JSON.stringify(value, null, 2));
  }

  /** A document as JSON or YAML (the yaml module loads only when asked for). */
  async document(value: unknown, format: 'json' | 'yaml'): Promise<void> {
    if (format === 'json') return this.json(value);
    const { stringify } = await loadYaml();
    this.data(stringify(value));
  }

  /** Terminal width for tables, when stdout is a terminal; undefined when piped (no cutting). */
  get columns(): number | undefined {
    return this.streams.stdout.isTTY ? this.streams.stdout.columns : undefined;
  }

  info(message: string): void {
    if (!this.settings.quiet) this.writeErr(message);
  }

  warn(message: string): void {
    this.writeErr(`${this.errColor.yellow('warning:')} ${message}`);
  }

  debug(message: string): void {
    if (this.settings.verbose) this.writeErr(this.errColor.dim(maskSecrets(message)));
  }

  error(message: string, hint?: string): void {
    this.writeErr(`${this.errColor.red('error:')} ${message}`);
    if (hint) this.writeErr(`${this.errColor.cyan('hint:')} ${hint}`);
  }

  /** Writes to stderr, pausing a running spinner so lines do not interleave with it. */
  writeErr(line: string): void {
    const spinner = this.activeSpinner;
    if (spinner) spinner.stop();
    this.streams.stderr.write(`${line}\n`);
    if (spinner) spinner.start();
  }

  step(title: string): StepHandle {
    const clock = this.settings.clock ?? systemClock;
    const started = clock.now();
    const elapsed = () => formatDuration(clock.now() - started);
    const c = this.errColor;
    if (this.spinnerFactory) {
      const spinner = this.spinnerFactory({ text: title, stream: this.streams.stderr }).start();
      this.activeSpinner = spinner;
      const end = (symbol: string, text: string) => {
        spinner.stopAndPersist({ symbol, text });
        if (this.activeSpinner === spinner) this.activeSpinner = undefined;
      };
      return {
        update: (text) => {
          spinner.text = `${title} ${c.dim(text)}`;
        },
        succeed: (text) => end(c.green('✓'), `${text ?? title} ${c.dim(`(${elapsed()})`)}`),
        fail: (text) => end(c.red('✗'), text ? `${title}: ${text}` : title),
        skip: (reason) => end(c.dim('-'), `${title} ${c.dim(`(skipped: ${reason})`)}`),
      };
    }
    // Plain mode: one line per event, no animation; repeated progress text is not reprinted.
    let lastUpdate = '';
    this.info(`${c.dim('•')} ${title} ...`);
    return {
      update: (text) => {
        if (text === lastUpdate) return;
        lastUpdate = text;
        this.info(`  ${title}: ${text}`);
      },
      succeed: (text) => this.info(`${c.green('✓')} ${text ?? title} (${elapsed()})`),
      fail: (text) => this.writeErr(`${c.red('✗')} ${text ? `${title}: ${text}` : title}`),
      skip: (reason) => this.info(`${c.dim('-')} ${title} (skipped: ${reason})`),
    };
  }

  /** Stops any spinner (on errors and Ctrl-C) so the terminal is left clean. */
  stopSpinner(): void {
    this.activeSpinner?.stop();
    this.activeSpinner = undefined;
  }
}

export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** NO_COLOR (https://no-color.org) wins, then FORCE_COLOR, then whether the stream is a terminal. */
export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.FORCE_COLOR !== undefined) {
    if (env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return 0;
    const n = Number(env.FORCE_COLOR);
    return n >= 1 && n <= 3 ? (n as 1 | 2 | 3) : 1;
  }
  if (!isTTY || env.TERM === 'dumb') return 0;
  return 1;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60)}s`;
}

/** Hides values that look like credentials (password=…, token: …) in diagnostic output. */
export function maskSecrets(text: string): string {
  return text.replace(
    /\b(password|passwd|token|secret|api[-_]?key|requirepass)(["']?\s*[:=]\s*["']?|\s+)([^\s"',}]+)/gi,
    '$1$2***',
  );
}
