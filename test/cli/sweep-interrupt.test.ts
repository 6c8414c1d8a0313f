// Issue 22 #1–#3, as a sweep: every command of the table that waits on anything (the cluster's
// API, a tool), each way it is invoked, is interrupted at several points: before it starts, and
// while each of its phases is held open by the fakes (the nth API request, the nth tool call; a
// hold, never a sleep). Each time it must stop at once (exit 130, while the phase is still held),
// show no stack trace, and a second run of the same command must work. The sweep runs main() in
// process and interrupts it as main's SIGINT handler does (docs/architecture.md, "Where to add" ›
// "A test"); the last test sends a real SIGINT to the built CLI in the middle of one
// command of each kind of wait (tool calls, API requests, a log stream, a purge, a fetch): the
// signal reaches main's one handler the same way whatever the command.
import { afterAll, describe, expect, it } from 'vitest';
import { invocations, stackTrace, sweepContextOfFile, tableCommands } from '../helpers/command-sweep.js';

const sweep = sweepContextOfFile();

/** Up to four points spread over 1..n (all of them when there are few). */
function points(n: number): number[] {
  if (n <= 4) return Array.from({ length: n }, (_, i) => i + 1);
  return [...new Set([1, Math.ceil(n / 3), Math.ceil((2 * n) / 3), n])];
}

/**
 * The issue asks for about 2 s; this bound leaves room for a loaded machine, yet is far under the
 * 30 s a held request takes to end by its own time limit (what a command ignoring Ctrl-C waits).
 */
const stopsWithinMs = 10_000;

const swept = tableCommands().filter((c) => (invocations[c] ?? []).some((i) => !i.momentary));
/** How long each interrupted command took to return once interrupted, for the report. */
const latencies: number[] = [];

describe('Ctrl-C stops every command at any moment', () => {
  it('every command of the table is swept or says why not', () => {
    expect(Object.keys(invocations).sort()).toEqual(tableCommands().sort());
  });

  it.each(swept)(
    'keystone %s: interrupted early and during each phase it stops at once (130), no stack trace, and runs again',
    async (command) => {
      const s = sweep();
      const { h } = s;
      for (const invocation of (invocations[command] ?? []).filter((i) => !i.momentary)) {
        // The phases: what one uninterrupted run asks of the API and of the tools.
        const requestsBefore = h.api.requests.length;
        const callsBefore = (await h.calls()).length;
        const args = await invocation.args(s);
        const first = await h.run(args);
        const baseline = first.exitCode;
        const requests = h.api.requests.length - requestsBefore;
        const calls = (await h.calls()).length - callsBefore;
        const where = `keystone ${args.join(' ')}`;

        const holds = [
          { at: 'before it starts', hold: async () => ({ reached: Promise.resolve(), release: async () => {} }) },
          ...points(requests).map((n) => ({
            at: `API request ${n} of ${requests}`,
            hold: async () => {
              const held = h.api.holdRequest(n);
              return { reached: held.reached, release: async () => held.release() };
            },
          })),
          ...points(calls).map((n) => ({ at: `tool call ${n} of ${calls}`, hold: () => h.holdToolCall(n) })),
        ];
        let interrupted = 0;
        for (const { at, hold } of holds) {
          const runArgs = await invocation.args(s);
          const held = await hold();
          let stoppedAt = 0;
          const interrupt = held.reached.then(() => (stoppedAt = performance.now()));
          const r = await h.run(runArgs, { interrupt });
          await held.release();
          if (!stoppedAt) continue; // this run never reached that phase (it made fewer requests this time)
          interrupted += 1;
          const took = performance.now() - stoppedAt;
          latencies.push(took);
          const context = `${where}, interrupted ${at}\n${r.stderr}`;
          expect(took, context).toBeLessThan(stopsWithinMs);
          expect(r.exitCode, context).toBe(130);
          expect(r.stderr, context).not.toMatch(stackTrace);
          expect(r.stderr, context).not.toMatch(/unexpected error/);
          const again = await h.run(await invocation.args(s));
          expect(again.exitCode, `${where} after being interrupted ${at}\n${again.stderr}`).toBe(baseline);
        }
        expect(interrupted, `${where}: no phase was interrupted`).toBeGreaterThan(1);
      }
    },
    300_000,
  );

  // `start` for a wait on a tool (setup is sent a real SIGINT inside k3d create in cli/setup).
  const signalled = ['start', 'run-simulation', 'logs', 'jobs clean', 'jobs fetch'];
  it('the commands sent a real SIGINT are swept ones', () => {
    expect(swept).toEqual(expect.arrayContaining(signalled));
  });

  it.each(signalled)(
    'keystone %s: a real SIGINT in the middle exits 130 at once, "Interrupted: stopping", no stack trace',
    async (command) => {
      const s = sweep();
      const { h } = s;
      const invocation = (invocations[command] ?? []).find((i) => !i.momentary)!;
      const first = await invocation.args(s);
      const requestsBefore = h.api.requests.length;
      const callsBefore = (await h.calls()).length;
      await h.run(first);
      const requests = h.api.requests.length - requestsBefore;
      const calls = (await h.calls()).length - callsBefore;
      const args = await invocation.args(s);
      // Its middle phase: an API request if it makes any, else a tool call.
      const held =
        requests > 0 ? h.api.holdRequest(Math.ceil(requests / 2)) : await h.holdToolCall(Math.ceil(calls / 2));
      const child = h.spawn(args);
      const reached = await Promise.race([held.reached.then(() => true), child.then(() => false)]);
      const signalled = performance.now();
      if (reached) child.kill('SIGINT');
      const r = await child;
      const took = performance.now() - signalled;
      await held.release();
      expect(took, `keystone ${args.join(' ')} took ${Math.round(took)} ms to stop`).toBeLessThan(stopsWithinMs);
      expect(reached, `keystone ${args.join(' ')} ended before its phase was held`).toBe(true);
      expect(r.exitCode, `keystone ${args.join(' ')}\n${r.stderr}`).toBe(130);
      expect(String(r.stderr)).toMatch(/Interrupted: stopping/);
      expect(String(r.stderr)).not.toMatch(stackTrace);
    },
    60_000,
  );

  afterAll(() => {
    if (latencies.length)
      console.info(
        `interrupt sweep: ${latencies.length} interruptions, slowest stop ${Math.round(Math.max(...latencies))} ms, median ${Math.round(latencies.sort((a, b) => a - b)[latencies.length >> 1]!)} ms`,
      );
  });
});
