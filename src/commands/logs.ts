/** `keystone logs <service|pod>`: one pod's or a whole service's logs, optionally followed. */
import type { AppContext } from '../app-context.js';
import { ExitCode, KeystoneError, UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { followLogs, type LogOptions } from '../operate/follow-logs.js';
import { requireObjectName } from '../operate/names.js';
import { resolvePodSource } from '../operate/stack-objects.js';
import { printLogLines } from '../ui/line-writer.js';

export interface LogsFlags {
  follow?: boolean;
  since?: string;
  tail?: string;
  timestamps?: boolean;
  previous?: boolean;
  container?: string;
}

export function parseLogOptions(flags: LogsFlags): LogOptions {
  let tail: number | undefined;
  if (flags.tail !== undefined) {
    if (!/^\d+$/.test(flags.tail) || Number(flags.tail) > 1_000_000)
      throw new UsageError(`--tail "${flags.tail}" is not a line count`, 'use a whole number, e.g. --tail 100');
    tail = Number(flags.tail);
  }
  const options: LogOptions = {
    follow: Boolean(flags.follow),
    timestamps: Boolean(flags.timestamps),
    previous: Boolean(flags.previous),
    tail,
  };
  if (flags.since !== undefined) {
    // 0 means no limit, as in kubectl (logs.go sends sinceSeconds only when it is not 0); the API
    // refuses sinceSeconds < 1, so a fraction of a second rounds up to 1.
    const ms =
      /^0*(\.0*)?[smhd]?$/.test(flags.since.trim()) && /0/.test(flags.since)
        ? 0
        : parseDuration(flags.since, '--since');
    if (ms > 0) options.sinceSeconds = Math.max(1, Math.ceil(ms / 1000));
  }
  if (flags.container !== undefined) options.container = requireObjectName(flags.container, 'container');
  return options;
}

const prefixColors = [
  'cyan',
  'magenta',
  'green',
  'yellow',
  'blue',
  'redBright',
  'cyanBright',
  'magentaBright',
] as const;

export async function logs(app: AppContext, name: string, flags: LogsFlags): Promise<number> {
  requireObjectName(name, 'service or pod');
  const options = parseLogOptions(flags);
  // Printing what there is ends by --timeout; a follow lasts until Ctrl-C (each request is still
  // bounded by --timeout, and an outage is retried through).
  if (!options.follow) app.boundByTimeout();
  const client = await app.client();
  // The profiles' validation (zod and the yaml library, ~750 KB of the bundle) loads only when the
  // name is not a deployment, the one case that needs the tool names.
  const { source, pods } = await resolvePodSource(client, name, async () =>
    (await import('../runs/request/profiles.js')).toolNames(app.paths.profiles, app.cwd),
  );
  if (pods.length === 0 && !options.follow) {
    // A deployment with no pods has no logs to show: a failure, as `kubectl logs deployment/x` is.
    // A simulation tool with no runs is like `kubectl logs -l`: nothing found, not an error.
    if (source.kind === 'deployment') {
      throw new KeystoneError(`deployment ${name} has no pods (scaled to 0?)`, {
        hint: `\`keystone scale ${name} 1\` starts one; \`keystone logs ${name} -f\` waits for pods`,
      });
    }
    app.ui.info(`No pods for ${source.kind} ${name} yet.`);
    return ExitCode.ok;
  }
  app.ui.announceInterrupt = false;
  const colors = new Map<string, (typeof prefixColors)[number]>();
  const c = app.ui.color;
  const prefixes = new Map<string, { prefix: string; text: string }>();
  // Each stream's coloured prefix is made once, not per line (~100,000 lines a second).
  const shownPrefix = (prefix: string, key: string) => {
    let shown = prefixes.get(key);
    if (shown === undefined || shown.prefix !== prefix) {
      const podKey = key.split('/')[0] ?? key;
      let color = colors.get(podKey);
      if (!color) {
        color = prefixColors[colors.size % prefixColors.length]!;
        colors.set(podKey, color);
      }
      shown = { prefix, text: `${c[color](`[${prefix}]`)} ` };
      prefixes.set(key, shown);
    }
    return shown.text;
  };
  const format = (prefix: string | undefined, key: string, text: string) =>
    prefix === undefined ? text : shownPrefix(prefix, key) + text;
  // A block of lines: the prefix before each, in one pass over the block.
  const formatBlock = (prefix: string | undefined, key: string, block: string) => {
    if (prefix === undefined) return block;
    const shown = shownPrefix(prefix, key);
    return shown + block.replaceAll('\n', `\n${shown}`);
  };
  await printLogLines(
    app.ui,
    format,
    (sink) => followLogs(client, source, pods, options, sink, app.signal),
    formatBlock,
  );
  return app.signal.aborted ? ExitCode.interrupted : ExitCode.ok;
}
