// `keystone --help` is printed by the launcher from texts the build rendered (bin/prerendered-help.cjs):
// it must be byte for byte what commander prints through main(), at every terminal width.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createRequire } from 'node:module';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/main.js';
import { CapturedStream } from '../helpers/harness.js';
import { cliPath, repoRoot } from '../fakes/sandbox.mjs';

const { prerenderedHelp } = createRequire(import.meta.url)('../../bin/prerendered-help.cjs') as {
  prerenderedHelp: (stream: { isTTY?: boolean; columns?: number }, dir?: string) => string | undefined;
};

/** What main() prints for these arguments on a stdout of this shape. */
async function helpFromMain(args: string[], columns: number | undefined, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const stdout = new CapturedStream(columns !== undefined);
  if (columns !== undefined) stdout.columns = columns;
  const stderr = new CapturedStream();
  expect(await main(args, { streams: { stdout, stderr }, env, signal: new AbortController().signal })).toBe(0);
  return stdout.text;
}

describe('prerendered --help', () => {
  it('is what commander prints, at every terminal width and when piped', async () => {
    for (let columns = 1; columns <= 260; columns++) {
      expect(prerenderedHelp({ isTTY: true, columns }), `${columns} columns`).toBe(
        await helpFromMain(['--help'], columns),
      );
    }
    expect(prerenderedHelp({ isTTY: false, columns: 132 })).toBe(await helpFromMain(['--help'], undefined));
    // Colour settings do not change the help (commander styles nothing by default).
    expect(prerenderedHelp({ isTTY: true, columns: 100 })).toBe(
      await helpFromMain(['--help'], 100, { FORCE_COLOR: '3' }),
    );
  });

  it('the launcher prints it for --help and -h, and the CLI itself when the texts are missing', async () => {
    const expected = await helpFromMain(['--help'], undefined);
    for (const flag of ['--help', '-h']) {
      const r = await execa(process.execPath, [cliPath, flag], { stripFinalNewline: false, env: {}, extendEnv: false });
      expect(r.stdout).toBe(expected);
      expect(r.stderr).toBe('');
    }
    expect(prerenderedHelp({ isTTY: false }, '/nonexistent/help')).toBeUndefined();
    // An install without dist/help: the launcher loads the CLI, and commander prints the same.
    const root = await mkdtemp(join(tmpdir(), 'keystone-nohelp-'));
    for (const part of ['bin', 'dist', 'package.json'])
      await cp(join(repoRoot, part), join(root, part), { recursive: true });
    await rm(join(root, 'dist', 'help'), { recursive: true });
    const r = await execa(process.execPath, [join(root, 'bin', 'keystone.cjs'), '--help'], {
      stripFinalNewline: false,
      env: { KEYSTONE_HOME: join(root, 'home') },
      extendEnv: false,
    });
    expect(r.stdout).toBe(expected);
    await rm(root, { recursive: true, force: true });
  });
});
