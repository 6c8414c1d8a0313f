// How keystone feels to a person and to a script: machine output, help, completion, modes, packaging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import type { z } from 'zod';
import { createHarness, cliPath, repoRoot, type Harness } from '../helpers/harness.js';
import { outputSchemas } from '../../src/output/schemas.js';

let h: Harness;
let password = '';
beforeAll(async () => {
  h = await createHarness();
  expect((await h.run(['setup'])).exitCode).toBe(0);
  h.cluster.program = () => ({ lines: ['done'], exitCode: 0 });
  expect((await h.run(['run-simulation', 'lammps', 'in.lj'])).exitCode).toBe(0);
  const secret = h.api.get('secrets', 'keystone', 'redis-auth');
  password = secret.stringData?.password ?? Buffer.from(secret.data.password, 'base64').toString();
  // A shim so completion scripts can call `keystone` like an installed one.
  await writeFile(join(h.bin, 'keystone'), `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`, {
    mode: 0o755,
  });
}, 60_000);
afterAll(async () => h?.cleanup());

type ZodDef = {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  entries?: Record<string, string>;
};
const defOf = (schema: z.ZodType) => (schema as unknown as { def: ZodDef }).def;

/** Every field a zod schema can produce, as dotted paths ("stack.deployments.name"), with its enum values if it is one. */
function schemaFields(
  schema: z.ZodType,
  prefix = '',
  out = new Map<string, { enum?: string[] }>(),
): Map<string, { enum?: string[] }> {
  const def = defOf(schema);
  if (def.type === 'object') {
    for (const [key, value] of Object.entries(def.shape!)) {
      const path = prefix ? `${prefix}.${key}` : key;
      let inner = value;
      while (defOf(inner).innerType) inner = defOf(inner).innerType!;
      out.set(path, defOf(inner).type === 'enum' ? { enum: Object.values(defOf(inner).entries!) } : {});
      schemaFields(value, path, out);
    }
  } else if (def.type === 'array') schemaFields(def.element!, prefix, out);
  else if (def.innerType) schemaFields(def.innerType, prefix, out);
  return out;
}

/**
 * The fields docs/output.md documents for one command: its table's first column (`a.b`, `c[]`,
 * several per row), the fields a type written as `{x, y?, z[]}` lists, and every prefix of those;
 * with the values of a type written as `` `v1` \| `v2` ``.
 */
/** The heading of a schema's section in docs/output.md: `keystone <command> -o json`, or as given here. */
const docHeadings: Record<string, string> = {
  progress: 'run-simulation --progress json',
  rollback: 'rollback <deployment> --list -o json',
  describe: 'describe <name> -o json',
  jobsShow: 'jobs show <run-id> -o json',
  jobsOrphans: 'jobs --orphans -o json',
};

function documentedFields(doc: string, command: string): Map<string, { enum?: string[] }> {
  const heading = docHeadings[command] ?? `${command} -o json`;
  const section = doc.split(/^## /m).find((s) => s.startsWith(`\`keystone ${heading}\``));
  if (!section) throw new Error(`docs/output.md has no section for ${command}`);
  const fields = new Map<string, { enum?: string[] }>();
  const add = (path: string, info: { enum?: string[] } = {}) => {
    const parts = path.replace(/\[\]/g, '').replace(/\?$/, '').split('.');
    for (let i = 1; i < parts.length; i++)
      if (!fields.has(parts.slice(0, i).join('.'))) fields.set(parts.slice(0, i).join('.'), {});
    fields.set(parts.join('.'), info);
  };
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [names = '', type = ''] = line
      .split(/(?<!\\)\|/)
      .slice(1)
      .map((c) => c.trim());
    const alternatives = type.split(/\s*\\\|\s*/);
    const values = alternatives.every((a) => /^`[^`]+`$/.test(a)) ? alternatives.map((a) => a.slice(1, -1)) : undefined;
    const braces = /^`?\{([^}]*)\}`?$/.exec(type)?.[1];
    for (const name of names.match(/`[^`]+`/g) ?? []) {
      const path = name.slice(1, -1);
      add(path, values ? { enum: values } : {});
      for (const sub of braces
        ?.split(',')
        .map((x) => x.trim())
        .filter(Boolean) ?? [])
        add(`${path.replace(/\[\]$/, '')}.${sub}`);
    }
  }
  return fields;
}

describe('machine output', () => {
  for (const command of ['status', 'pods', 'jobs', 'doctor'] as const) {
    it(`${command} -o json matches its documented schema, and -o yaml is the same document`, async () => {
      const json = await h.run([command, '-o', 'json']);
      expect(json.exitCode, json.stderr).toBe(0);
      const parsed = outputSchemas[command].safeParse(JSON.parse(json.stdout));
      expect(parsed.error?.issues ?? []).toEqual([]);
      const yaml = await h.run([command, '-o', 'yaml']);
      const a = JSON.parse(json.stdout);
      const b = parse(yaml.stdout);
      if (command === 'pods') for (const p of [...a, ...b]) p.ageSeconds = 0;
      if (command === 'jobs') for (const r of [...a, ...b]) delete r.durationSeconds;
      expect(b).toEqual(a);
    });
  }

  it('docs/output.md documents exactly the fields of each schema (and the values of each enum)', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'output.md'), 'utf8');
    for (const [command, schema] of Object.entries(outputSchemas)) {
      // Through unknown: relating each zod schema's full type to z.ZodType costs tsc ~2.5 s.
      const inSchema = schemaFields(schema as unknown as z.ZodType);
      const inDoc = documentedFields(doc, command);
      expect([...inDoc.keys()].sort(), command).toEqual([...inSchema.keys()].sort());
      for (const [field, { enum: values }] of inDoc)
        if (values && inSchema.get(field)?.enum)
          expect(values.sort(), `${command}: ${field}`).toEqual(inSchema.get(field)!.enum!.sort());
      for (const [field, { enum: values }] of inSchema)
        if (values)
          expect(inDoc.get(field)?.enum?.sort(), `${command}: ${field} lists its values`).toEqual(values.sort());
    }
  });
});

describe('help', () => {
  const commands = [
    'setup',
    'apply',
    'start',
    'stop',
    'delete',
    'status',
    'pods',
    'logs',
    'shell',
    'scale',
    'restart',
    'rollback',
    'describe',
    'top',
    'import-images',
    'push-images',
    'run-simulation',
    'jobs',
    'doctor',
    'completion',
  ];

  it('every command has a summary, its arguments and options, and two examples', async () => {
    for (const command of commands) {
      const r = await h.run([command, '--help']); // in process: the help must reach main's streams, not process.stdout
      expect(r.exitCode, command).toBe(0);
      expect(r.stdout, command).toMatch(new RegExp(`^Usage: keystone ${command}`));
      expect(r.stdout.split('\n')[2]?.length, command).toBeGreaterThan(10);
      expect(r.stdout, command).toContain('Options:');
      expect((r.stdout.match(/^\s+\$ keystone /gm) ?? []).length, command).toBeGreaterThanOrEqual(2);
    }
    const top = await execa(process.execPath, [cliPath, '--help'], { env: h.env, extendEnv: false }); // and through the real launcher
    for (const command of commands) expect(top.stdout).toContain(`  ${command}`);
    expect(top.stdout).not.toContain('__complete');
  });

  it('shows option defaults', async () => {
    const r = await h.run(['pods', '--help']);
    expect(r.stdout).toMatch(
      /-o, --output <format>\s+output format \(choices: "table", "wide", "json",\s+"yaml", default: "table"\)/,
    );
  });

  it('suggests the nearest command for a typo, exit 2', async () => {
    const r = await execa(process.execPath, [cliPath, 'restrat'], { env: h.env, extendEnv: false, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('(Did you mean restart?)');
    // A subcommand's usage error goes to the given stderr too (nested ones included).
    const nested = await h.run(['jobs', 'clean', '--olderr-than', '7d']);
    expect(nested.exitCode).toBe(2);
    expect(nested.stderr).toContain("error: unknown option '--olderr-than'");
  });
});

describe('completion', () => {
  it('prints scripts for bash, zsh and fish that ask keystone for candidates', async () => {
    for (const [shell, marker] of [
      ['bash', 'complete -o default -F _keystone_complete keystone'],
      ['zsh', '#compdef keystone'],
      ['fish', "complete -c keystone -f -a '(__keystone_complete)'"],
    ] as const) {
      const r = await h.run(['completion', shell]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(marker);
      expect(r.stdout).toContain('keystone __complete --');
    }
    const bad = await h.run(['completion', 'tcsh']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('choose one of: bash, zsh, fish');
  });

  /**
   * The script `keystone completion bash` prints, written once per sandbox: each completion below
   * runs it in a new bash, as `source <(keystone completion bash)` in ~/.bashrc does (the readline
   * test further down sources it that way), without a keystone start per completion.
   */
  const completionScripts = new Map<string, Promise<string>>();
  function completionScript(): Promise<string> {
    if (!completionScripts.has(h.root))
      completionScripts.set(
        h.root,
        h.run(['completion', 'bash']).then(async (r) => {
          const file = join(h.root, 'keystone-completion.bash');
          await writeFile(file, `${r.stdout}\n`);
          return file;
        }),
      );
    return completionScripts.get(h.root)!;
  }

  async function bashComplete(line: string[], env: Record<string, string> = {}): Promise<string[]> {
    const words = line.map((w) => `'${w}'`).join(' ');
    const script = `source '${await completionScript()}'; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _keystone_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await execa('bash', ['-c', script], {
      env: { ...h.env, ...env, PATH: `${h.bin}:${h.systemBin}` },
      extendEnv: false,
      cwd: h.project,
    });
    return r.stdout.split('\n').filter(Boolean);
  }

  /**
   * Types into an interactive bash on a pseudo-terminal (python's pty module), so readline itself
   * inserts the completion and its quoting is what a user sees; returns the screen text once the
   * completed word appears (or after 20 s).
   */
  async function typeInBash(keys: string): Promise<string> {
    const driver = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp('bash', ['bash', '--norc', '--noprofile', '-i'])
def read(seconds, until=None):
    out, end = b'', time.time() + seconds
    while time.time() < end and not (until and until(out)):
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try: out += os.read(fd, 4096)
            except OSError: break
    return out
os.write(fd, b"PS1='$ '; source <(keystone completion bash); echo READY\\n")
read(20, lambda o: b'READY\\r\\n' in o)
os.write(fd, sys.argv[1].encode())
screen = read(20, lambda o: b'.py' in o)
os.write(fd, b'\\x15exit\\n')
read(5)
sys.stdout.write(screen.decode('utf-8', 'replace'))
`;
    const r = await execa('python3', ['-c', driver, keys], {
      env: { ...h.env, PATH: `${h.bin}:${h.systemBin}`, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TERM: 'dumb' },
      extendEnv: false,
      cwd: h.project,
      reject: false,
      timeout: 60_000,
    });
    return String(r.stdout);
  }

  it('bash completes commands, options, tools and inputs, and live deployments, pods and run ids', async () => {
    expect(await bashComplete(['keystone', 'st'])).toEqual(['start', 'status', 'stop']);
    expect(await bashComplete(['keystone', 'logs', '--ti'])).toEqual(['--timeout', '--timestamps']);
    expect(await bashComplete(['keystone', 'run-simulation', ''])).toEqual(['fenicsx', 'lammps', 'openfoam']);
    expect(await bashComplete(['keystone', 'run-simulation', 'openfoam', ''])).toEqual(['cavity']);
    expect(await bashComplete(['keystone', 'scale', ''])).toEqual(['celery-worker', 'redis']);
    expect(await bashComplete(['keystone', 'restart', ''])).toEqual(['all', 'celery-worker', 'redis']);
    const pods = await bashComplete(['keystone', 'logs', 'redis-']);
    expect(pods).toHaveLength(1);
    expect(pods[0]).toMatch(/^redis-[a-z0-9]+-[a-z0-9]+$/);
    const runs = await bashComplete(['keystone', 'jobs', 'logs', '']);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(await bashComplete(['keystone', 'jobs', 'fetch', ''])).toEqual(runs);
  });

  it('bash completes option values: -o choices, --context from the kubeconfig; option values are not commands', async () => {
    expect(await bashComplete(['keystone', 'status', '-o', ''])).toEqual(['json', 'table', 'yaml']);
    expect(await bashComplete(['keystone', 'pods', '--output', 'w'])).toEqual(['wide']);
    const other = join(h.home, 'other-config');
    await writeFile(
      other,
      'apiVersion: v1\nkind: Config\ncontexts:\n- name: lab\n  context: {cluster: lab, user: lab}\n',
      { mode: 0o600 },
    );
    expect(await bashComplete(['keystone', '--context', ''], { KUBECONFIG: `${h.kubeconfig}:${other}` })).toEqual([
      'k3d-keystone-cluster',
      'lab',
    ]);
    expect(
      await bashComplete(['keystone', 'logs', '--context', 'l'], { KUBECONFIG: `${h.kubeconfig}:${other}` }),
    ).toEqual(['lab']);
    expect(await bashComplete(['keystone', '--context', 'k3d-keystone-cluster', 'st'])).toEqual([
      'start',
      'status',
      'stop',
    ]);
    expect(await bashComplete(['keystone', '--timeout', '5m', 'scale', ''])).toEqual(['celery-worker', 'redis']);
    expect(await bashComplete(['keystone', 'jobs', '--tool', ''])).toEqual(['fenicsx', 'lammps', 'openfoam']);
  });

  it('bash quotes file names with spaces, quotes and non-ASCII letters when it inserts them (real readline)', async () => {
    const dir = join(h.project, 'data', 'fenicsx');
    await writeFile(join(dir, 'my model.py'), 'print(1)\n');
    await writeFile(join(dir, "naïve 'x'.py"), 'print(1)\n');
    expect(await bashComplete(['keystone', 'run-simulation', 'fenicsx', 'my'])).toEqual(['my model.py']);
    expect(await bashComplete(['keystone', 'run-simulation', 'fenicsx', 'my\\ m'])).toEqual(['my model.py']);
    expect(await typeInBash('keystone run-simulation fenicsx my\t')).toContain(
      'keystone run-simulation fenicsx my\\ model.py',
    );
    expect(await typeInBash('keystone run-simulation fenicsx na\t')).toContain(
      "keystone run-simulation fenicsx naïve\\ \\'x\\'.py",
    );
  });

  it('zsh and fish scripts treat file names and the directive line the same way', async () => {
    const zsh = (await h.run(['completion', 'zsh'])).stdout;
    expect(zsh).toContain(':filenames) compadd -f -a candidates ;;');
    expect(zsh).toContain(':files) _files ;;');
    expect(zsh).toContain('candidates=("${(@)lines[1,-2]}")'); // the directive is not offered
    const fish = (await h.run(['completion', 'fish'])).stdout;
    expect(fish).toContain('set -e out[-1]');
    expect(fish).toContain('__fish_complete_path');
    const raw = await execa(process.execPath, [cliPath, '__complete', '--', 'run-simulation', 'fenicsx', 'my'], {
      env: h.env,
      extendEnv: false,
      cwd: h.project,
    });
    expect(raw.stdout.split('\n')).toEqual(['my model.py', ':filenames']);
  });

  it('without a reachable cluster, completes what it knows and stays quiet', async () => {
    await h.run(['stop']);
    try {
      expect(await bashComplete(['keystone', 'scale', ''])).toEqual([]);
      expect(await bashComplete(['keystone', 'restart', ''])).toEqual(['all']);
    } finally {
      await h.run(['start']);
    }
  });
});

describe('modes', () => {
  it('--verbose shows commands and requests but never the Redis password or kubeconfig token', async () => {
    const token = 'fake-k3d-token-do-not-print';
    for (const args of [
      ['setup'],
      ['status'],
      ['pods'],
      ['logs', 'redis'],
      ['jobs'],
      ['doctor'],
      ['run-simulation', 'lammps', 'in.lj', '--env', 'A=1'],
    ]) {
      const r = await h.run([...args, '--verbose']);
      const all = r.stdout + r.stderr;
      expect(all, args.join(' ')).not.toContain(password);
      expect(all, args.join(' ')).not.toContain(token);
    }
    const setup = await h.run(['setup', '--verbose']);
    expect(setup.stderr).toMatch(/\$ k3d cluster list -o json/);
    const verbose = await h.run(['status', '--verbose']);
    expect(verbose.stderr).toMatch(/GET \/api\/v1\/nodes/);
    expect(verbose.stderr).not.toMatch(/\$ k3d/); // a running cluster's shape comes from its nodes
    expect(verbose.stderr).toContain('target: k3d cluster "keystone-cluster" (context k3d-keystone-cluster');
  });

  it('--quiet prints only errors and the data asked for', async () => {
    const r = await h.run(['setup', '--quiet']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const failing = await h.run(['scale', 'nope', '1', '--quiet']);
    expect(failing.stderr).toContain('error: no deployment "nope"');
  });

  it('NO_COLOR means no escape codes even on a terminal; FORCE_COLOR brings them back when piped', async () => {
    const terminal = { stderr: true };
    const coloured = await h.run(['scale', 'nope', '1'], { env: { NO_COLOR: '' }, tty: terminal });
    expect(coloured.stderr).toMatch(/\u001b\[31merror:/); // a terminal gets colour ...
    const plain = await h.run(['scale', 'nope', '1'], { env: { NO_COLOR: '1' }, tty: terminal });
    expect(plain.stderr).toContain('error: no deployment "nope"');
    expect(plain.stderr).not.toMatch(/\u001b\[/); // ... unless NO_COLOR says otherwise
    const forced = await h.run(['scale', 'nope', '1'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(forced.stderr).toMatch(/\u001b\[31merror:/);
  });

  it('colour is decided per stream: data redirected to a file has none while stderr is a terminal', async () => {
    const env = { NO_COLOR: '' };
    for (const command of [['doctor'], ['logs', 'celery-worker']]) {
      // check marks; pod prefixes
      const toFile = await h.run(command, { env, tty: { stderr: true } });
      expect(toFile.stdout, command.join(' ')).not.toBe('');
      expect(toFile.stdout, command.join(' ')).not.toMatch(/\u001b\[/);
      const onTerminal = await h.run(command, { env, tty: { stdout: true, stderr: true } });
      expect(onTerminal.stdout, command.join(' ')).toMatch(/\u001b\[3\dm/);
    }
    const messages = await h.run(['scale', 'nope', '1'], { env, tty: { stdout: false, stderr: true } });
    expect(messages.stderr).toMatch(/\u001b\[31merror:/);
    const messagesPiped = await h.run(['scale', 'nope', '1'], { env, tty: { stdout: true, stderr: false } });
    expect(messagesPiped.stderr).not.toMatch(/\u001b\[/);
  });

  it('setup ends with what was done, the addresses to use, and what to try next', async () => {
    const r = await h.run(['setup']);
    expect(r.stderr).toMatch(
      /Setup complete: \d+ steps done, 2 already satisfied \(cluster keystone-cluster, kubeconfig context k3d-keystone-cluster\)/,
    );
    expect(r.stderr).toContain(`ingress    http://localhost:${h.ports[0]}  https://localhost:${h.ports[1]}`);
    expect(r.stderr).toContain(
      `redis      localhost:${h.ports[2]}  (password: kubectl --context k3d-keystone-cluster -n keystone get secret redis-auth`,
    );
    // k3d keeps the registry's name as given and serves it on 5000 inside (see src/cluster/registry.ts).
    expect(r.stderr).toContain(`registry   keystone-registry: push from this machine to localhost:${h.ports[3]}`);
    expect(r.stderr).toContain('in manifests: image: keystone-registry:5000/my-image:1.0');
    expect(r.stderr).toContain('Next: keystone status');
  });

  it('a closed stdout ends quietly (keystone pods | head -1, and a long log into head)', async () => {
    const env = { ...h.env, PATH: `${h.bin}:${h.systemBin}` };
    const r = await execa('/bin/sh', ['-c', `"${process.execPath}" "${cliPath}" pods | head -1`], {
      env,
      extendEnv: false,
      cwd: h.project,
      reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+READY/);
    expect(r.stderr).toBe('');
    // Enough output that keystone is still writing when head has gone: EPIPE must not become a stack trace.
    const pod = h.api
      .objects('pods')
      .find((p: { metadata: { labels: Record<string, string> } }) => p.metadata.labels.app === 'redis');
    for (let i = 0; i < 50_000; i++)
      h.api.appendLog('keystone', pod.metadata.name, 'redis', `line ${i} ${'x'.repeat(60)}`);
    // A second const, not r again: assigning one execa result type to another costs tsc ~4 s.
    const log = await execa(
      '/bin/sh',
      ['-c', `"${process.execPath}" "${cliPath}" logs redis | head -1; echo "pipe status ok"`],
      { env, extendEnv: false, cwd: h.project, reject: false },
    );
    expect(log.stdout.split('\n')[0]).toMatch(/^\[redis-\S+\] redis started on/);
    expect(log.stderr).toBe('');
  });
});

describe('packaging', () => {
  it('npm pack ships only what runs: the CLI, the built code, the manifests, images, examples, README and LICENSE', async () => {
    // npm with an empty HOME: no user's .npmrc (or npm_config_* variable) changes what it packs.
    const home = await mkdtemp(join(tmpdir(), 'keystone-npm-home-'));
    const r = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: home },
      extendEnv: false,
    }).finally(() => rm(home, { recursive: true, force: true }));
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    for (const needed of [
      'bin/keystone.cjs',
      'bin/compile-cache.cjs',
      'dist/main.cjs',
      'dist/build-id',
      'k8s/configs/k3d-cluster-config.yaml',
      'k8s/manifests/10-redis.yaml',
      'k8s/simulations/profiles.yaml',
      'images/compose.yaml',
      'data/lammps/in.lj',
      'data/openfoam/cavity/system/controlDict',
      'README.md',
      'LICENSE',
      'package.json',
    ]) {
      expect(files, needed).toContain(needed);
    }
    for (const file of files)
      expect(file, file).toMatch(/^(bin|dist|k8s|images|data)\/|^(README\.md|LICENSE|package\.json)$/);
    expect(files.some((f) => f.startsWith('dist/chunks/'))).toBe(true); // the lazily loaded parts of the bundle
    expect(
      files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('.ci/') || f.includes('/runs/')),
    ).toBe(false);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.type).toBe('module');
    expect(pkg.engines.node).toBe('>=20.19.0'); // what every locked dependency accepts (unit/engines)
  });
});
