import { stripVTControlCharacters } from 'node:util';

/** Renders argv as a command a user can paste into a POSIX shell (display only, never executed). */
export function prettyCommand(tool: string, args: readonly string[]): string {
  return [tool, ...args].map(quoteArg).join(' ');
}

function quoteArg(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_\-./:=@,+%]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The line of a tool's output that says what went wrong.
 * k3d logs through logrus ("ERRO[0003] ...", "FATA[0004] ..."); its FATA line is often only
 * "Cluster creation FAILED, all changes have been rolled back!", so the first ERRO line
 * (the cause) is preferred. Docker prints "Error response from daemon: ...".
 */
export function lastErrorLine(output: string): string {
  const lines = stripVTControlCharacters(output)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const logrus = /^(ERRO|FATA)\[\d+\]\s*(.*)$/;
  const errors = lines.map((l) => logrus.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  const cause = errors.find((m) => !/rolling back|rolled back/i.test(m[2] ?? ''));
  if (cause) return (cause[2] ?? '').trim();
  if (errors.length > 0) return (errors[errors.length - 1]![2] ?? '').trim();
  const daemon = lines.find((l) => /^Error( response from daemon)?:/i.test(l));
  if (daemon) return daemon;
  return lines[lines.length - 1] ?? '';
}
