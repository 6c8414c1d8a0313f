/** `keystone completion bash|zsh|fish`. */
import type { AppContext } from '../app-context.js';
import { UsageError } from '../errors.js';
import { completionScript, completionShells, type CompletionShell } from '../completion/scripts.js';

export function completionCommand(app: AppContext, shell: string): void {
  if (!(completionShells as readonly string[]).includes(shell)) {
    throw new UsageError(`no completion for shell "${shell}"`, `choose one of: ${completionShells.join(', ')}`);
  }
  app.ui.data(completionScript(shell as CompletionShell).trimEnd());
}
