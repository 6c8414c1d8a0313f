// Issue 22 #8, as a sweep: every command of the table, each way it is invoked, run with stdout a
// pipe whose reader has already closed. A command that prints data (it printed some when stdout
// was open) exits 141 as for SIGPIPE, never 0; one that prints none keeps its own exit code; none
// shows a stack trace.
//
// Two layers (docs/architecture.md, "Where to add" › "A test"): the sweep runs every
// invocation in process, main() writing into a stream that fails every write with EPIPE as a
// closed pipe does; what only the whole program shows (the launcher's exit code once stdout is
// flushed, a real pipe's EPIPE) is run as a real process for one command of each kind of output:
// a table, JSON, a run id (`run-simulation -d`, whose only output it is), a long stream, help.
import { describe, expect, it } from 'vitest';
import {
  invocations,
  stackTrace,
  sweepContextOfFile,
  tableCommands,
  type SweepContext,
} from '../helpers/command-sweep.js';
import { ClosedPipe } from '../helpers/harness.js';

const sweep = sweepContextOfFile();

describe('a lost output is never a success (every command)', () => {
  it('every command of the table is swept (test/helpers/command-sweep.ts says how to invoke it)', () => {
    expect(Object.keys(invocations).sort()).toEqual(tableCommands().sort());
  });

  it.each(tableCommands())(
    'keystone %s into a closed pipe: 141 when it prints data, else its own exit code; no stack trace',
    async (command) => {
      const s = sweep();
      for (const invocation of invocations[command] ?? []) {
        const open = await s.h.run(await invocation.args(s));
        const args = await invocation.args(s);
        const closed = await s.h.run(args, { stdout: new ClosedPipe() });
        const expected = open.stdout !== '' ? 141 : open.exitCode;
        expect(
          closed.exitCode,
          `keystone ${args.join(' ')} (stdout open: exit ${open.exitCode}, ${open.stdout.length} bytes of data)\n${closed.stderr}`,
        ).toBe(expected);
        expect(closed.stderr).not.toMatch(stackTrace);
      }
    },
    120_000,
  );

  const wholePath: [string, (s: SweepContext) => Promise<string[]>][] = [
    ['a table', async () => ['pods']],
    ['JSON', async () => ['jobs', '-o', 'json']],
    ['a run id, its only output', async () => ['run-simulation', 'lammps', 'in.lj', '-d']],
    ['a log', async (s) => ['jobs', 'logs', await s.finishedRun()]],
    ['help', async () => ['pods', '--help']],
  ];
  it.each(wholePath)('the built CLI printing %s into a real closed pipe exits 141, no stack trace', async (_, make) => {
    const s = sweep();
    const args = await make(s);
    const closed = await s.h.runWithClosedStdout(args);
    expect(closed.exitCode, `keystone ${args.join(' ')}\n${closed.stderr}`).toBe(141);
    expect(closed.stderr).not.toMatch(stackTrace);
  });
});
