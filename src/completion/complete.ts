/**
 * Completion candidates for the words typed so far (the last one is being completed): command
 * names, options, tool names and input files, and — looked up in the cluster with a short
 * deadline — deployments, pods and run ids. Any failure just means fewer candidates.
 */
// Synchronous reads of small local files: cheaper than loading Node's fs/promises, which
// every TAB would pay for (docs/performance.md).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetContext, TargetOptions } from '../target-context.js';
import type { CompletionNode, CompletionOption } from './tree.js';
import { completionShells } from './scripts.js';
import { knownTools } from './tool-names.js';
import { labels, stackNamespace } from '../vocabulary.js';
import { runsFolder } from '../runs/model.js';

const liveLookupMs = 1500;

/** What completion reads of the command's context: the full CLI's, or the TAB fast path's (src/completion/fast.ts). */
export type CompletionContext = Pick<TargetContext, 'env' | 'cwd' | 'paths' | 'kubeconfigs' | 'client'> & {
  version: string;
  options: TargetOptions;
};

function optionsOf(command: CompletionNode): string[] {
  const own = command.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
  return [...own, '--help'];
}

async function withDeadline<T>(work: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), liveLookupMs);
  });
  try {
    return await Promise.race([work.catch(() => fallback), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Names from the cluster: each kind in turn, over the one connection; none for a kind that fails or is late. */
async function live(app: CompletionContext, ...kinds: ('deployments' | 'pods' | 'runs')[]): Promise<string[]> {
  const lookup = async (what: (typeof kinds)[number]) => {
    const client = await app.client();
    if (what === 'runs') {
      const jobs = await client.list(`/apis/batch/v1/namespaces/${stackNamespace}/jobs`, {
        labelSelector: labels.runId,
      });
      return jobs.items.map((j) => j.metadata?.labels?.[labels.runId] ?? '').filter(Boolean);
    }
    const path =
      what === 'pods'
        ? `/api/v1/namespaces/${stackNamespace}/pods`
        : `/apis/apps/v1/namespaces/${stackNamespace}/deployments`;
    return (await client.list(path)).items.map((o) => o.metadata?.name ?? '');
  };
  const names: string[] = [];
  const all = async () => {
    for (const kind of kinds) names.push(...(await lookup(kind).catch(() => [])));
    return names;
  };
  return withDeadline(all(), names); // late: what arrived in time
}

async function inputsOf(app: CompletionContext, tool: string): Promise<string[]> {
  try {
    return readdirSync(join(app.paths.dataDir, tool)).filter((n) => n !== runsFolder && !n.startsWith('.'));
  } catch {
    return [];
  }
}

/**
 * How the shell should treat the candidates, as the last line of `keystone __complete` (the
 * convention of cobra's `__complete`): `:filenames` — they are file names, so the shell quotes
 * spaces and other special characters when it inserts one (bash `compopt -o filenames`);
 * `:files` — none offered, the shell completes paths itself (--kubeconfig FILE); `:plain` — words.
 */
export type CompletionDirective = 'plain' | 'filenames' | 'files';

export interface Completion {
  candidates: string[];
  directive: CompletionDirective;
}

/** The options a command accepts, by flag: whether each takes a value and which values it allows. */
function optionTable(commands: CompletionNode[]): Map<string, CompletionOption> {
  const table = new Map<string, CompletionOption>();
  for (const command of commands) {
    for (const o of command.options) {
      for (const flag of [o.long, o.short]) if (flag && !table.has(flag)) table.set(flag, o);
    }
  }
  return table;
}

/** The text `keystone __complete` prints: one candidate a line, then the directive. */
export async function completionOutput(app: CompletionContext, root: CompletionNode, words: string[]): Promise<string> {
  const { candidates, directive } = await complete(app, root, words);
  return [...candidates, `:${directive}`].join('\n');
}

export async function complete(app: CompletionContext, root: CompletionNode, words: string[]): Promise<Completion> {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const visible = (cmd: CompletionNode) => cmd.commands.filter((c) => c.visible);
  // Walk the words as commander would: option values are not arguments (`--context lab status`).
  let command: CompletionNode | undefined;
  let sub: CompletionNode | undefined;
  const args: string[] = [];
  let pendingOption: CompletionOption | undefined;
  let afterDashes = false;
  for (const word of before) {
    const options = optionTable([sub, command, root].filter((c): c is CompletionNode => c !== undefined));
    if (pendingOption) {
      pendingOption = undefined;
      continue;
    }
    if (!afterDashes && word === '--') {
      afterDashes = true;
      continue;
    }
    if (!afterDashes && word.startsWith('-') && word.length > 1) {
      const option = options.get(word.split('=')[0]!);
      if (option?.takesValue && !word.includes('=')) pendingOption = option;
      continue;
    }
    if (!command) command = visible(root).find((c) => c.name === word);
    else if (!sub && args.length === 0 && (sub = visible(command).find((c) => c.name === word))) continue;
    else args.push(word);
    if (!command) return { candidates: [], directive: 'plain' }; // an unknown command: nothing fits
  }
  const words_ = (candidates: string[], directive: CompletionDirective = 'plain'): Completion => ({
    candidates: [...new Set(candidates)].filter((c) => c.startsWith(current)).sort(),
    directive,
  });
  if (pendingOption) return optionValues(app, pendingOption, words_);
  const active = [sub, command, root].filter((c): c is CompletionNode => c !== undefined);
  if (current.startsWith('-') && !afterDashes) {
    const refused = new Set(active[0]!.refused ?? []);
    return words_(active.flatMap(optionsOf).filter((flag) => !refused.has(flag)));
  }
  if (!command) return words_(visible(root).map((c) => c.name));
  if (afterDashes) return { candidates: [], directive: 'files' }; // the program's own arguments
  const candidates = await argumentCandidates(app, command.name, sub?.name, args, command);
  return words_(candidates, command.name === 'run-simulation' && args.length === 1 ? 'filenames' : 'plain');
}

async function optionValues(
  app: CompletionContext,
  option: CompletionOption,
  words: (candidates: string[], directive?: CompletionDirective) => Completion,
): Promise<Completion> {
  if (option.choices) return words(option.choices);
  if (option.long === '--context') return words(await contextNames(app));
  if (option.long === '--tool') return words(await knownTools(app));
  if (option.long === '--kubeconfig' || option.long === '--config') return { candidates: [], directive: 'files' };
  return { candidates: [], directive: 'plain' }; // a duration, a number, a name: nothing to offer
}

/** The contexts of the kubeconfig files in play (--kubeconfig, KUBECONFIG, ~/.kube/config), as kubectl lists them. */
async function contextNames(app: CompletionContext): Promise<string[]> {
  const { readKubeconfigFile } = await import('../kube/kubeconfig/load.js');
  const names: string[] = [];
  for (const file of app.kubeconfigs.files) {
    try {
      // Read as every command reads a kubeconfig (YAML 1.1, as kubectl does).
      for (const context of (await readKubeconfigFile(file))?.entries.contexts ?? [])
        if (context.name) names.push(context.name);
    } catch {
      // a missing or broken file offers no names; the command itself will say what is wrong
    }
  }
  return names;
}

async function argumentCandidates(
  app: CompletionContext,
  command: string,
  sub: string | undefined,
  args: string[],
  cmd: CompletionNode,
): Promise<string[]> {
  switch (command) {
    case 'completion':
      return args.length === 0 ? [...completionShells] : [];
    case 'run-simulation':
      if (args.length === 0) return knownTools(app);
      if (args.length === 1) return inputsOf(app, args[0]!);
      return [];
    case 'logs':
    case 'shell':
      // The tools are read while the cluster is asked; deployments then pods over one connection
      // (two at once would cost a second TLS handshake).
      return args.length === 0 ? (await Promise.all([live(app, 'deployments', 'pods'), knownTools(app)])).flat() : [];
    case 'scale':
      return args.length === 0 ? live(app, 'deployments') : [];
    case 'restart':
      return args.length === 0 ? ['all', ...(await live(app, 'deployments'))] : [];
    case 'import-images':
    case 'push-images': {
      const { loadImageSpecs } = await import('../images/images.js');
      return (await loadImageSpecs(app.paths.composeFile)).flatMap((s) => [s.service, s.image]);
    }
    case 'jobs':
      if (!sub) return args.length === 0 ? cmd.commands.map((c) => c.name) : [];
      return ['logs', 'cancel', 'fetch', 'show', 'rerun'].includes(sub) && args.length === 0 ? live(app, 'runs') : [];
    default:
      return [];
  }
}
