/** How a followed run appears on the terminal: its state on stderr, its output on stdout. */
import type { AppContext } from '../app-context.js';
import type { FollowRunOptions } from './follow-run.js';

/** A line of a run's output, prefixed with its sweep index when it has one. */
export function printRunLine(app: AppContext, prefix: string | undefined, text: string): void {
  app.ui.data(prefix === undefined ? text : `${app.ui.color.cyan(`[${prefix}]`)} ${text}`);
}

/** The callbacks of followRun that print to the user. */
export function runPrinter(app: AppContext, runId: string): Pick<FollowRunOptions, 'onState' | 'onLine' | 'onNotice'> {
  return {
    onState: (text) => app.ui.info(app.ui.errColor.dim(`[${runId}] ${text}`)),
    onLine: (prefix, text) => printRunLine(app, prefix, text),
    onNotice: (text) => app.ui.debug(text),
  };
}
