/**
 * How a followed run's progress is shown (`run-simulation --progress MODE`):
 *   bar    one line on stderr, redrawn in place (a terminal; other output is printed above it)
 *   plain  a line on stderr at each 10% (off a terminal: no animation)
 *   json   every progress event as one JSON object per line on stderr (for scripts)
 *   none   nothing
 * `auto` (the default) is bar on an interactive terminal, plain otherwise.
 */
import type { Ui } from '../../ui/ui.js';
import type { ProgressMode } from '../request/options.js';
import {
  ProgressTracker,
  progressLine,
  readTotal,
  type ProgressEvent,
  type ProgressProfile,
} from '../request/progress.js';

/** Erase the current terminal line (carriage return + ECMA-48 "erase in line", whole line). */
const eraseLine = '\r\u001b[2K';

export class ProgressDisplay {
  private shown = '';
  private lastTenth = -1;

  constructor(
    private readonly ui: Ui,
    private readonly tracker: ProgressTracker,
    private readonly mode: Exclude<ProgressMode, 'auto' | 'none'>,
    private readonly unit: string | undefined,
  ) {}

  /** Feeds one output line; returns the event it produced, if any. */
  observe(prefix: string | undefined, text: string): ProgressEvent | undefined {
    const event = this.tracker.observe(prefix, text);
    if (!event) return undefined;
    if (this.mode === 'json') {
      this.ui.writeErr(JSON.stringify(event));
    } else if (this.mode === 'plain') {
      const percent = event.overallPercent ?? event.percent;
      const tenth = percent === undefined ? -1 : Math.floor(percent / 10);
      if (tenth > this.lastTenth) {
        this.lastTenth = tenth;
        this.ui.info(this.ui.errColor.dim(`[${event.runId}] ${progressLine(event, this.unit)}`));
      }
    } else {
      this.shown = progressLine(event, this.unit);
      this.draw();
    }
    return event;
  }

  /** Runs `print` with the bar taken off the screen, then puts it back. */
  around(print: () => void): void {
    if (this.mode !== 'bar' || !this.shown) {
      print();
      return;
    }
    this.ui.streams.stderr.write(eraseLine);
    print();
    this.draw();
  }

  /** Takes the bar off the screen for good (the run ended). */
  end(): void {
    if (this.mode === 'bar' && this.shown) this.ui.streams.stderr.write(eraseLine);
    this.shown = '';
  }

  private draw(): void {
    this.ui.streams.stderr.write(`${eraseLine}${this.ui.errColor.dim(this.shown)}`);
  }
}

/** The display for a run whose profile says how to read progress; undefined when there is none. */
export async function createProgressDisplay(
  ui: Ui,
  spec: ProgressProfile | undefined,
  o: {
    runId: string;
    mode: ProgressMode;
    input?: { path: string; kind: 'file' | 'directory' };
    extraArgs?: readonly string[];
    indexes?: number;
  },
): Promise<ProgressDisplay | undefined> {
  if (!spec || o.mode === 'none') return undefined;
  const total = o.input ? await readTotal(spec, o.input, o.extraArgs ?? []) : undefined;
  const mode = o.mode === 'auto' ? (ui.interactive ? 'bar' : 'plain') : o.mode;
  return new ProgressDisplay(
    ui,
    new ProgressTracker(spec, { runId: o.runId, total, indexes: o.indexes }),
    mode,
    spec.unit,
  );
}
