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
  /** Flags of its ancestors' options it refuses (exit 2), so never offered after it. */
  refused?: string[];
  commands: CompletionNode[];
}

export function treeOf(command: Command, visible = true): CompletionNode {
  // commander's own list of what --help shows (it adds an implicit `help` command, not in cmd.commands).
  const help = command.createHelp();
  const shown = new Set(help.visibleCommands(command));
  // An ancestor's option its --help leaves out of "Global Options" is one it refuses (src/command-table.ts).
  const accepted = new Set(help.visibleGlobalOptions(command));
  const refused: string[] = [];
  for (let owner = command.parent; owner; owner = owner.parent)
    for (const o of owner.options)
      if (!o.hidden && !accepted.has(o)) refused.push(...[o.long, o.short].filter((f): f is string => Boolean(f)));
  return {
    name: command.name(),
    visible,
    ...(refused.length ? { refused } : {}),
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
