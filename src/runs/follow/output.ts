/** How a followed run appears on the terminal: its state on stderr, its output on stdout. */
import type { Ui } from '../../ui/ui.js';
import type { FollowRunOptions } from './follow.js';
import type { ProgressDisplay } from './display.js';

/** A line of a run's output, prefixed with its sweep index when it has one. */
export function printRunLine(ui: Ui, prefix: string | undefined, text: string): void {
  ui.data(runLine(ui, prefix, text));
}

/** A run's log line as printed: with its rank's prefix when the run has several pods. */
export function runLine(ui: Pick<Ui, 'color'>, prefix: string | undefined, text: string): string {
  return prefix === undefined ? text : `${ui.color.cyan(`[${prefix}]`)} ${text}`;
}

/** The callbacks of followRun that print to the user (with the run's progress, when shown). */
export function runPrinter(
  ui: Ui,
  runId: string,
  progress?: ProgressDisplay,
): Pick<FollowRunOptions, 'onState' | 'onLine' | 'onNotice'> {
  const around = (print: () => void) => (progress ? progress.around(print) : print());
  return {
    onState: (text) => around(() => ui.info(ui.errColor.dim(`[${runId}] ${text}`))),
    onLine: (prefix, text) => {
      around(() => printRunLine(ui, prefix, text));
      progress?.observe(prefix, text);
    },
    onNotice: (text) => around(() => ui.debug(text)),
  };
}
