/**
 * Who holds a host port, when the OS will say: `lsof` (macOS, most Linux), else `ss` (Linux),
 * and Docker for ports a container publishes (docker-proxy runs as root, so lsof and ss do not
 * show it to an ordinary user). Each tool may be missing or refuse: then the holder is unknown.
 */
import type { Runner } from '../exec/runner.js';

export interface PortHolder {
  port: number;
  /** "ControlCenter (pid 512)", "container web-1"; undefined when no tool could tell. */
  holder?: string;
  /** The process name alone, for matching well-known holders. */
  command?: string;
}

/** `lsof -F pc` prints one field per line: "p<pid>", "c<command>" (lsof(8), OUTPUT FOR OTHER PROGRAMS). */
export function parseLsofFields(output: string): { pid: number; command: string } | undefined {
  let pid: number | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith('p')) pid = Number(line.slice(1));
    else if (line.startsWith('c') && pid !== undefined) return { pid, command: line.slice(1) };
  }
  return undefined;
}

/** `ss -Hltnp` lines end with users:(("node",pid=5089,fd=19)) when the caller may see the process. */
export function parseSsUsers(output: string): { pid: number; command: string } | undefined {
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(output);
  return m ? { command: m[1]!, pid: Number(m[2]) } : undefined;
}

async function quietly(runner: Runner, tool: string, args: string[]): Promise<string> {
  try {
    const r = await runner.run(tool, args, { reject: false, timeoutMs: 5_000 });
    return r.exitCode === 0 ? r.stdout : '';
  } catch {
    return ''; // not installed, or not answering: the holder stays unknown
  }
}

export async function portHolder(
  runner: Runner,
  port: number,
  platform: NodeJS.Platform = process.platform,
): Promise<PortHolder> {
  // +c 0: the whole command name (lsof cuts it to 9 characters otherwise: "ControlCe").
  let found = parseLsofFields(
    await quietly(runner, 'lsof', ['-nP', '+c', '0', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc']),
  );
  if (!found && platform === 'linux')
    found = parseSsUsers(await quietly(runner, 'ss', ['-Hltnp', 'sport', '=', `:${port}`]));
  if (found) return { port, command: found.command, holder: `${found.command} (pid ${found.pid})` };
  // Docker's `ps --filter publish=<port>` lists containers publishing that host port.
  const containers = (await quietly(runner, 'docker', ['ps', '--filter', `publish=${port}`, '--format', '{{.Names}}']))
    .split('\n')
    .filter(Boolean);
  if (containers.length > 0) return { port, holder: `container ${containers.join(', ')}` };
  return { port };
}

/** On macOS Monterey and later the AirPlay Receiver (ControlCenter) listens on 5000 and 7000. */
export function isAirPlayReceiver(h: PortHolder): boolean {
  return h.command === 'ControlCenter' || h.command === 'AirPlayXPCHelper';
}

export function airPlayFix(configLabel: string): string {
  return `turn off AirPlay Receiver (System Settings > General > AirDrop & Handoff), or change registries.create.hostPort in ${configLabel}`;
}

/** "5000 (ControlCenter (pid 512))", or the bare port when the holder is unknown. */
export function describeHolders(holders: readonly PortHolder[]): string {
  return holders.map((h) => (h.holder ? `${h.port} (held by ${h.holder})` : `${h.port}`)).join(', ');
}

/** The fix for busy ports: AirPlay's own, else how to find the holder, and the config to edit. */
export function busyPortsHint(
  holders: readonly PortHolder[],
  configLabel: string,
  platform: NodeJS.Platform = process.platform,
): string {
  const airplay =
    holders.some(isAirPlayReceiver) ||
    (platform === 'darwin' && holders.some((h) => !h.holder && (h.port === 5000 || h.port === 7000)));
  if (airplay) return airPlayFix(configLabel);
  const unknown = holders.some((h) => !h.holder);
  const find = unknown
    ? platform === 'darwin'
      ? '`sudo lsof -nP -iTCP -sTCP:LISTEN`'
      : '`sudo ss -ltnp` or `docker ps`'
    : undefined;
  return `stop what holds ${holders.length > 1 ? 'them' : 'it'}${find ? ` (find it with ${find})` : ''}, or change the host ports in ${configLabel}`;
}
