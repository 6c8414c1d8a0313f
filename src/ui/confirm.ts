/**
 * The question before something that cannot be undone (`keystone delete`, `jobs clean
 * --purge-outputs`), asked on the terminal: `… [y/N] `, yes only for y or yes. Ctrl-C while it
 * waits is an interruption (130), an answer that never comes (stdin closed) is a no.
 */
import { createInterface } from 'node:readline';
import { InterruptedError } from '../errors.js';
import type { Ui } from './ui.js';

export function askYesNo(
  stdin: NodeJS.ReadableStream,
  ui: Ui,
  question: string,
  signal: AbortSignal,
): Promise<boolean> {
  ui.stopSpinner();
  ui.streams.stderr.write(`${question} [y/N] `);
  const lines = createInterface({ input: stdin, terminal: false });
  return new Promise<boolean>((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return; // close() below emits 'close' as well
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
      lines.close();
    };
    const onAbort = () => done(() => reject(new InterruptedError()));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    lines.once('line', (answer) => done(() => resolve(/^\s*y(es)?\s*$/i.test(answer))));
    lines.once('close', () => done(() => resolve(false)));
  });
}
