// How the bench measures one command: wall time, CPU time (user + system, the process and the
// children it waited for) and peak RSS, from wait4() in bench/rusage.py. Commands are
// [file, args, { env, cwd, stdout }]; stdout goes to /dev/null unless a file is named.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// The system's python, not a version manager's shim (a shell script that would be timed too).
const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p)) ?? 'python3';
const scratch = mkdtempSync(join(tmpdir(), 'keystone-bench-'));

let helper;
let lines;
function start() {
  helper = spawn(python, [join(here, 'rusage.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  helper.unref();
  lines = createInterface({ input: helper.stdout })[Symbol.asyncIterator]();
}

function resolveFile(file, env) {
  if (file.includes('/')) return file;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const path = join(dir, file);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  throw new Error(`${file}: not found on the command's PATH`);
}

let queue = Promise.resolve();
/** Runs one command to its end; { wallMs, cpuMs, rssMiB, stderr }. Throws when it exits non-zero. */
export function measure([file, args, options = {}]) {
  const job = queue.then(async () => {
    if (!helper) start();
    const env = options.env ?? process.env;
    const stderr = join(scratch, 'stderr');
    helper.stdin.write(
      `${JSON.stringify({ argv: [resolveFile(file, env), ...args], env, cwd: options.cwd ?? process.cwd(), stdout: options.stdout ?? '/dev/null', stderr })}\n`,
    );
    const { value, done } = await lines.next();
    if (done) throw new Error('bench/rusage.py ended');
    const r = JSON.parse(value);
    const err = readFileSync(stderr, 'utf8');
    if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${err.slice(0, 500)}`);
    return { wallMs: r.wallMs, cpuMs: r.userMs + r.sysMs, rssMiB: r.maxRssKiB / 1024, stderr: err };
  });
  queue = job.catch(() => undefined);
  return job;
}

export function stopMeasuring() {
  helper?.stdin.end();
}

/** The middle value, and the quartiles around it (the spread). */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
  return { median: at(0.5), p25: at(0.25), p75: at(0.75), n: s.length };
}

/**
 * Runs the commands in turn, `n` rounds after one warm-up round each (A B C, A B C, …), so a
 * change in the machine's load falls on all of them alike. Returns per command the stats of
 * wall, CPU and RSS.
 */
export async function interleaved(commands, n) {
  for (const c of commands) await measure(c);
  const samples = commands.map(() => ({ wall: [], cpu: [], rss: [] }));
  for (let i = 0; i < n; i++) {
    for (const [k, c] of commands.entries()) {
      const r = await measure(c);
      samples[k].wall.push(r.wallMs);
      samples[k].cpu.push(r.cpuMs);
      samples[k].rss.push(r.rssMiB);
    }
  }
  return samples.map((s) => ({ wall: stats(s.wall), cpu: stats(s.cpu), rss: stats(s.rss) }));
}
