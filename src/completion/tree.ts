/**
 * The command tree completion walks: each command's name, whether --help lists it, its options
 * (flags, whether they take a value, allowed values) and subcommands. It is read from the commander
 * program (`treeOf`), and the build writes the same tree to dist/completion-tree.json so that a TAB
 * can be answered without building the program (src/completion/fast.ts): one source, the command
 * table in src/cli.ts, for both.
 */
import type { Command } from 'commander';

export interface CompletionOption {
  long?: string;
  short?: string;
  takesValue: boolean;
  choices?: string[];
}

export interface CompletionNode {
  name: string;
  /** Listed by --help (hidden commands like __complete, and commander's implicit `help`, are not). */
  visible: boolean;
  options: CompletionOption[];
  commands: CompletionNode[];
}

export function treeOf(command: Command, visible = true): CompletionNode {
  // commander's own list of what --help shows (it adds an implicit `help` command, not in cmd.commands).
  const shown = new Set(command.createHelp().visibleCommands(command));
  return {
    name: command.name(),
    visible,
    options: command.options.map((o) => ({
      ...(o.long ? { long: o.long } : {}),
      ...(o.short ? { short: o.short } : {}),
      takesValue: Boolean(o.required || o.optional),
      ...(o.argChoices ? { choices: [...o.argChoices] } : {}),
    })),
    commands: command.commands.map((c) => treeOf(c, shown.has(c))),
  };
}

/**
 * The global options `__complete` acts on, read from the words being completed (`--context lab
 * scale <TAB>` lists lab's deployments): the word after the first --context/--kubeconfig, unless
 * that is the word being completed.
 */
export function completionTargetOptions(typed: string[]): { context?: string; kubeconfig?: string } {
  const flagValue = (flag: string) => {
    const i = typed.indexOf(flag);
    return i >= 0 && i + 1 < typed.length - 1 ? typed[i + 1] : undefined;
  };
  return { context: flagValue('--context'), kubeconfig: flagValue('--kubeconfig') };
}
