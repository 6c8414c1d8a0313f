/** How a followed run appears on the terminal: its state on stderr, its output on stdout. */
import type { AppContext } from '../../app-context.js';
import type { FollowRunOptions } from './follow.js';
import type { ProgressDisplay } from './display.js';

/** A line of a run's output, prefixed with its sweep index when it has one. */
export function printRunLine(app: AppContext, prefix: string | undefined, text: string): void {
  app.ui.data(runLine(app, prefix, text));
}

/** A run's log line as printed: with its rank's prefix when the run has several pods. */
export function runLine(app: AppContext, prefix: string | undefined, text: string): string {
  return prefix === undefined ? text : `${app.ui.color.cyan(`[${prefix}]`)} ${text}`;
}

/** The callbacks of followRun that print to the user (with the run's progress, when shown). */
export function runPrinter(app: AppContext, runId: string, progress?: ProgressDisplay): Pick<FollowRunOptions, 'onState' | 'onLine' | 'onNotice'> {
  const around = (print: () => void) => (progress ? progress.around(print) : print());
  return {
    onState: (text) => around(() => app.ui.info(app.ui.errColor.dim(`[${runId}] ${text}`))),
    onLine: (prefix, text) => {
      around(() => printRunLine(app, prefix, text));
      progress?.observe(prefix, text);
    },
    onNotice: (text) => around(() => app.ui.debug(text)),
  };
}
