/**
 * Completion candidates for the words typed so far (the last one is being completed): command
 * names, options, tool names and input files, and — looked up in the cluster with a short
 * deadline — deployments, pods and run ids. Any failure just means fewer candidates.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AppContext } from '../app-context.js';
import { completionShells } from './scripts.js';

const liveLookupMs = 1500;

function optionsOf(command: Command): string[] {
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

async function live(app: AppContext, what: 'deployments' | 'pods' | 'runs'): Promise<string[]> {
  const lookup = async () => {
    const clusterName = await app.clusterName();
    const client = await app.kube(app.target(clusterName));
    if (what === 'runs') {
      const jobs = await client.list('/apis/batch/v1/namespaces/keystone/jobs', { labelSelector: 'keystone.io/run-id' });
      return jobs.items.map((j) => j.metadata?.labels?.['keystone.io/run-id'] ?? '').filter(Boolean);
    }
    const path = what === 'pods' ? '/api/v1/namespaces/keystone/pods' : '/apis/apps/v1/namespaces/keystone/deployments';
    return (await client.list(path)).items.map((o) => o.metadata?.name ?? '');
  };
  return withDeadline(lookup(), []);
}

async function knownTools(app: AppContext): Promise<string[]> {
  try {
    const { toolNames } = await import('../simulate/profiles.js');
    return await toolNames(app.paths.profiles, app.cwd);
  } catch {
    return []; // a broken profiles file: no tool names to offer
  }
}

async function inputsOf(app: AppContext, tool: string): Promise<string[]> {
  try {
    return (await readdir(join(app.paths.dataDir, tool))).filter((n) => n !== 'runs' && !n.startsWith('.'));
  } catch {
    return [];
  }
}

export async function completionCandidates(app: AppContext, root: Command, words: string[]): Promise<string[]> {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  // commander's own list of what --help shows, less its implicit `help` command (not in root.commands).
  const visible = root.createHelp().visibleCommands(root).filter((c) => root.commands.includes(c));
  const rootOptions = optionsOf(root);
  const positional = before.filter((w) => !w.startsWith('-'));
  const name = positional[0];
  const command = visible.find((c) => c.name() === name);
  let candidates: string[];
  if (!command) {
    candidates = current.startsWith('-') ? rootOptions : visible.map((c) => c.name());
  } else {
    const sub = command.commands.find((c) => c.name() === positional[1]);
    const active = sub ?? command;
    const args = positional.slice(sub ? 2 : 1);
    if (current.startsWith('-')) {
      candidates = [...optionsOf(active), ...rootOptions];
    } else {
      candidates = await argumentCandidates(app, command.name(), sub?.name(), args, command);
    }
  }
  return [...new Set(candidates)].filter((c) => c.startsWith(current)).sort();
}

async function argumentCandidates(app: AppContext, command: string, sub: string | undefined, args: string[], cmd: Command): Promise<string[]> {
  switch (command) {
    case 'completion':
      return args.length === 0 ? [...completionShells] : [];
    case 'run-simulation':
      if (args.length === 0) return knownTools(app);
      if (args.length === 1) return inputsOf(app, args[0]!);
      return [];
    case 'logs':
    case 'shell':
      return args.length === 0 ? [...(await live(app, 'deployments')), ...(await knownTools(app)), ...(await live(app, 'pods'))] : [];
    case 'scale':
      return args.length === 0 ? live(app, 'deployments') : [];
    case 'restart':
      return args.length === 0 ? ['all', ...(await live(app, 'deployments'))] : [];
    case 'import-images': {
      const { loadImageSpecs } = await import('../images/images.js');
      return (await loadImageSpecs(app.paths.composeFile)).flatMap((s) => [s.service, s.image]);
    }
    case 'jobs':
      if (!sub) return args.length === 0 ? cmd.commands.map((c) => c.name()) : [];
      return (sub === 'logs' || sub === 'cancel') && args.length === 0 ? live(app, 'runs') : [];
    default:
      return [];
  }
}
