// Domain functions take what they use (issue 23 item 3), so they run on a few fields, without the
// whole AppContext and without the CLI.
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { Ui } from '../../src/ui/ui.js';
import { runPrinter } from '../../src/runs/follow/output.js';
import { importImages, type ImportImagesContext } from '../../src/images/import-images.js';
import { UsageError } from '../../src/errors.js';
import type { Runner } from '../../src/exec/runner.js';

function captured() {
  let text = '';
  const s = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { s, text: () => text };
}

describe('narrow contexts', () => {
  it('runs/follow prints a followed run with a Ui alone: output lines on stdout, states on stderr', () => {
    const out = captured();
    const err = captured();
    const ui = new Ui({ stdout: out.s, stderr: err.s }, { quiet: false, verbose: false, env: { NO_COLOR: '1' } });
    const printer = runPrinter(ui, '20261125-214700-a3f9');
    printer.onState('Running on k3d-keystone-agent-0');
    printer.onLine('2', 'step 100');
    printer.onLine(undefined, 'done');
    expect(out.text()).toBe('[2] step 100\ndone\n');
    expect(err.text()).toContain('[20261125-214700-a3f9] Running on k3d-keystone-agent-0');
  });

  it('images/ refuses another cluster from its own context, before Docker or the API is asked', async () => {
    const untouched = (what: string) => () => {
      throw new Error(`${what} must not be used`);
    };
    const ctx: ImportImagesContext = {
      target: async () => ({
        context: 'lab',
        local: false,
        clusterName: 'keystone',
        kubeconfig: { explicit: undefined, files: [] },
      }),
      client: untouched('the client'),
      runner: new Proxy({}, { get: untouched('the runner') }) as Runner,
      paths: { composeFile: '/nonexistent/compose.yaml' },
      timeoutMs: (ms) => ms,
      options: {},
    };
    const err = await importImages(ctx, { build: false, only: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      'images are imported into the k3d cluster "keystone"; context "lab" is another cluster',
    );
  });
});
