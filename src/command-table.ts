/**
 * The machinery behind the command table in cli.ts: a command is declared as data (name,
 * arguments, options, examples, the options it refuses, a lazy loader and a run function) and
 * registered into commander here. The option and argument types are read from their flags
 * (`--since <duration>` is a string, `--wait` a boolean, `[image...]` a list), so each run
 * function gets typed values without casts at the call site.
 */
import { type Command, Help, Option } from 'commander';
import type { AppContext, GlobalOptions } from './app-context.js';

export type CommandRunner = (
  options: GlobalOptions,
  body: (app: AppContext) => Promise<number | void>,
) => Promise<void>;

// ---- types read from flags -------------------------------------------------------------------

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;
/** '-o, --output <format>' → 'output'; '--dry-run' → 'dry-run'. */
type LongName<F extends string> = F extends `${string}--${infer Long} ${string}`
  ? Long
  : F extends `${string}--${infer Long}`
    ? Long
    : never;
/** Commander's attribute name for the flags: '--older-than <duration>' → 'olderThan'. */
export type OptionKey<F extends string> = Camel<LongName<F>>;
type FlagValue<F extends string> = F extends `${string}<${string}>` ? string | undefined : boolean | undefined;

/** An option as data: its flags (which give its key and type) and how to build it. */
export interface OptionSpec<F extends string = string, V = unknown> {
  readonly flags: F;
  readonly build: () => Option;
  /** Only carries the value's type. */
  readonly value?: V;
}

export type OptionsOf<T extends readonly OptionSpec[]> = {
  [S in T[number] as OptionKey<S['flags']>]: S extends OptionSpec<string, infer V> ? V : never;
};

type ArgValue<S extends string> = S extends `<${string}...>`
  ? string[]
  : S extends `<${string}>`
    ? string
    : S extends `[${string}...]`
      ? string[] | undefined
      : string | undefined;

export interface ArgSpec<S extends string = string> {
  readonly syntax: S;
  readonly description?: string;
}

export type ArgsOf<T extends readonly ArgSpec[]> = {
  -readonly [I in keyof T]: T[I] extends ArgSpec<infer S> ? ArgValue<S> : never;
};

// ---- builders --------------------------------------------------------------------------------

/** An option: a flag (boolean) or one taking a value (string), as its flags say. */
export function option<const F extends string>(flags: F, description: string): OptionSpec<F, FlagValue<F>> {
  return { flags, build: () => new Option(flags, description) };
}

/** An option that may be given several times; its values in order. */
export function repeatable<const F extends `${string}<${string}>`>(
  flags: F,
  description: string,
): OptionSpec<F, string[] | undefined> {
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  return { flags, build: () => new Option(flags, description).argParser(collect) };
}

/** `-o`: one of these formats, the first one by default. */
export function output<const T extends readonly [string, ...string[]]>(
  formats: T,
): OptionSpec<'-o, --output <format>', T[number]> {
  return {
    flags: '-o, --output <format>',
    build: () => new Option('-o, --output <format>', 'output format').choices(formats).default(formats[0]),
  };
}

/** `--dry-run`: what it means differs per command, so each says it. */
export const dryRun = (description: string) => option('--dry-run', description);

export function argument<const S extends string>(syntax: S, description?: string): ArgSpec<S> {
  return description === undefined ? { syntax } : { syntax, description };
}

/** Inherited option (its attribute name, e.g. "output") → why this command does not use it. */
export type Refusals = Readonly<Record<string, string>>;

// ---- the command spec ------------------------------------------------------------------------

export interface CommandSpec<
  M = unknown,
  A extends readonly ArgSpec[] = readonly ArgSpec[],
  O extends readonly OptionSpec[] = readonly OptionSpec[],
  I extends readonly OptionSpec[] = readonly OptionSpec[],
> {
  name: string;
  description: string;
  args?: A;
  options?: O;
  /** A parent's options this command reads (`jobs clean` reads `jobs --tool`). */
  inherits?: I;
  /**
   * Inherited options (global ones, or a parent's like `jobs --tool`) the command has no use for:
   * its --help lists them, so typing one is refused (exit 2), never ignored.
   */
  refuse?: Refusals;
  examples?: string[];
  hidden?: boolean;
  /** The command's module, imported only when it runs (start-up loads commander alone). */
  load: () => Promise<M>;
  run: (m: M, app: AppContext, args: ArgsOf<A>, options: OptionsOf<O> & OptionsOf<I>) => Promise<number | void>;
  subcommands?: RegisteredSpec[];
}

/** A spec whose types have been checked by `command()`; the table holds these. */
export interface RegisteredSpec {
  readonly spec: CommandSpec<unknown, readonly ArgSpec[], readonly OptionSpec[], readonly OptionSpec[]>;
}

/** Declares a command; the run function's arguments are typed from the args and options given. */
export function command<
  M,
  const A extends readonly ArgSpec[] = [],
  const O extends readonly OptionSpec[] = [],
  const I extends readonly OptionSpec[] = [],
>(name: string, description: string, spec: Omit<CommandSpec<M, A, O, I>, 'name' | 'description'>): RegisteredSpec {
  // The table holds commands of different types; each run function was checked against its own spec.
  return { spec: { name, description, ...spec } as unknown as RegisteredSpec['spec'] };
}

// ---- registration into commander ---------------------------------------------------------------

export function examplesText(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

/** Adds the table's commands to `parent` (the program, or a command with subcommands). */
export function register(parent: Command, table: readonly RegisteredSpec[], runCommand: CommandRunner): void {
  for (const { spec } of table) {
    const cmd = parent.command(spec.name, spec.hidden ? { hidden: true } : {}).description(spec.description);
    refusals.set(cmd, spec.refuse ?? {});
    for (const arg of spec.args ?? []) cmd.argument(arg.syntax, arg.description);
    for (const opt of spec.options ?? []) cmd.addOption(opt.build());
    if (spec.examples) cmd.addHelpText('after', examplesText(spec.examples));
    // A command with subcommands and its own action: extra words name an unknown subcommand
    // (`jobs bogus`), not "too many arguments"; checked before it runs.
    if (spec.subcommands) cmd.allowExcessArguments(true);
    cmd.action(async (...received: unknown[]) => {
      const self = received[received.length - 1] as Command;
      if (spec.subcommands && self.args.length) unknownSubcommand(self);
      refuseInherited(self);
      // Commander passes each argument as its syntax says (a string, or a list for `...`).
      const args = received.slice(0, -2) as ArgsOf<readonly ArgSpec[]>;
      // With a parent's options (inherits) merged in; the global ones are the context's.
      const options = self.optsWithGlobals();
      await runCommand(options as GlobalOptions, async (app) => spec.run(await spec.load(), app, args, options));
    });
    if (spec.subcommands) register(cmd, spec.subcommands, runCommand);
  }
}

// Each registered command's refusals: the one list both its --help (acceptedHelp) and the check
// before it runs (refuseInherited) read, so help never lists an option the command refuses.
const refusals = new WeakMap<Command, Refusals>();

/** Why `command` refuses the inherited `option`, or undefined when it accepts it. */
export function refusal(command: Command, option: Option): string | undefined {
  return refusals.get(command)?.[option.attributeName()];
}

/**
 * commander's help settings for the program (subcommands inherit them): "Global Options" lists the
 * inherited options a command accepts, never the ones it refuses.
 */
export const acceptedHelp: Partial<Help> = {
  showGlobalOptions: true,
  visibleGlobalOptions(this: Help, cmd: Command): Option[] {
    return Help.prototype.visibleGlobalOptions.call(this, cmd).filter((o) => refusal(cmd, o) === undefined);
  },
};

/** Exit 2 if the user typed an inherited option the command would otherwise silently ignore. */
function refuseInherited(command: Command): void {
  for (let owner = command.parent; owner; owner = owner.parent) {
    for (const option of owner.options) {
      const key = option.attributeName();
      const why = refusal(command, option);
      if (why === undefined || owner.getOptionValueSource(key) !== 'cli') continue;
      const path: string[] = [];
      for (let c: Command | null = command; c?.parent; c = c.parent) path.unshift(c.name());
      command.error(`error: ${option.long ?? option.flags} does not apply to \`keystone ${path.join(' ')}\`: ${why}`, {
        exitCode: 2,
        code: 'keystone.inapplicableOption',
      });
    }
  }
}

/** `keystone jobs bogus`: the words commander would call "too many arguments" name an unknown subcommand. */
function unknownSubcommand(command: Command): never {
  const typed = command.args[0]!;
  const names = command.commands.map((c) => c.name());
  const close = names.filter(
    (n) => editDistance(n, typed) <= Math.max(1, Math.floor(n.length / 3)) || n.startsWith(typed),
  );
  const hint = close.length
    ? `\n(Did you mean ${close.join(' or ')}?)`
    : `\n(${command.name()} has: ${names.join(', ')})`;
  command.error(`error: unknown command '${command.name()} ${typed}'${hint}`, {
    exitCode: 2,
    code: 'commander.unknownCommand',
  });
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}
