// Kubeconfig files as kubectl and k3d really treat them: a KUBECONFIG listing several files,
// missing, empty and broken files in the list, and a lost context that setup writes again.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { createHarness, createReadyHarness, type Harness } from '../helpers/harness.js';
import { kubeconfigFor, status } from '../fakes/kube-api-server.mjs';

let h: Harness;
afterEach(async () => h?.cleanup());

const ctx = 'k3d-keystone-cluster';
const contextsIn = async (file: string) =>
  (parse(await readFile(file, 'utf8'))?.contexts ?? []).map((c: { name: string }) => c.name);
const modeOf = async (file: string) => ((await stat(file)).mode & 0o777).toString(8);

describe('fake k3d, as k3d v5.8.3 behaves', { timeout: 90_000 }, () => {
  const k3d = async (args: string[], env: Record<string, string>) => {
    const r = await execa(join(h.bin, 'k3d'), args, { env: { ...h.env, ...env }, extendEnv: false, reject: false });
    // k3d colours its log levels (logrus) even into a pipe; compare the text.
    return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr).replace(/\u001b\[\d+m/g, '') };
  };

  it('cluster create with a KUBECONFIG of several files: a warning, no context written; with one file and no current-context it sets one', async () => {
    h = await createHarness();
    const config = join(h.root, 'k3d.yaml');
    await writeFile(
      config,
      stringify({ apiVersion: 'k3d.io/v1alpha5', kind: 'Simple', metadata: { name: 'two' }, servers: 1 }),
    );
    const [a, b] = [join(h.home, 'a.yaml'), join(h.home, 'b.yaml')];
    const r = await k3d(['cluster', 'create', '--config', config], { KUBECONFIG: `${a}:${b}` });
    expect(r.exitCode).toBe(0);
    // pkg/client/kubeconfig.go KubeconfigGetDefaultPath, logged by cmd/cluster/clusterCreate.go
    expect(r.stderr).toContain(
      'WARN[0000] failed to get default kubeconfig path: multiple kubeconfigs specified via KUBECONFIG env var: Please reduce to one entry, unset KUBECONFIG or explicitly choose an output',
    );
    expect(existsSync(a) || existsSync(b)).toBe(false);
    // The same with a trailing colon: client-go's precedence keeps the empty entry, so k3d still refuses.
    const trailing = await k3d(['cluster', 'delete', 'two'], { KUBECONFIG: `${a}:` });
    expect(trailing.stderr).toContain('WARN[0000] Failed to remove cluster details from default kubeconfig');
    const single = await k3d(['cluster', 'create', '--config', config], { KUBECONFIG: a });
    expect(single.exitCode).toBe(0);
    expect(await contextsIn(a)).toEqual(['k3d-two']);
    // KubeconfigMerge sets the current-context when the file has none, whatever switchCurrentContext says.
    expect(parse(await readFile(a, 'utf8'))['current-context']).toBe('k3d-two');
  });

  it('kubeconfig get prints "---" and the cluster\'s kubeconfig; an unknown cluster is fatal', async () => {
    h = await createReadyHarness();
    const r = await k3d(['kubeconfig', 'get', 'keystone-cluster'], {});
    expect(r.exitCode).toBe(0);
    expect(r.stdout.startsWith('---\n')).toBe(true);
    const doc = parse(r.stdout);
    expect(doc['current-context']).toBe(ctx);
    expect(doc.users[0].name).toBe(`admin@${ctx}`);
    const missing = await k3d(['kubeconfig', 'get', 'nosuch'], {});
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('FATA[0000] No nodes found for given cluster');
  });
});

describe('setup with a KUBECONFIG listing several files', { timeout: 90_000 }, () => {
  it('writes the context into the first file that exists (0600, current-context kept), and a second run writes nothing', async () => {
    h = await createHarness();
    const missing = join(h.home, 'missing.yaml');
    const other = join(h.home, 'other.yaml');
    await writeFile(other, stringify(kubeconfigFor('http://127.0.0.1:9', 'other')), { mode: 0o600 });
    const KUBECONFIG = `${missing}:${other}:${h.kubeconfig}`;
    const r = await h.run(['setup'], { env: { KUBECONFIG } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote context ${ctx} into ${other} (current-context unchanged)`);
    expect(r.stderr).toContain('5/5 nodes Ready');
    // k3d is told not to write (it cannot choose here, and would switch an empty current-context).
    expect((await h.state()).lastCreateConfig.options.kubeconfig).toEqual({
      updateDefaultKubeconfig: false,
      switchCurrentContext: false,
    });
    const doc = parse(await readFile(other, 'utf8'));
    expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(['other', ctx]);
    expect(doc.clusters.map((c: { name: string }) => c.name)).toEqual(['other', ctx]);
    expect(doc.users.map((c: { name: string }) => c.name)).toEqual(['admin@other', `admin@${ctx}`]);
    expect(doc['current-context']).toBe('other');
    expect(await modeOf(other)).toBe('600');
    expect(existsSync(missing) || existsSync(h.kubeconfig)).toBe(false);
    const pods = await h.run(['pods', '-o', 'json'], { env: { KUBECONFIG } });
    expect(pods.exitCode, pods.stderr).toBe(0);

    const before = await readFile(other, 'utf8');
    const again = await h.run(['setup'], { env: { KUBECONFIG } });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain(`kubeconfig context ${ctx} (skipped: already in ${other})`);
    expect(await readFile(other, 'utf8')).toBe(before);

    // k3d's delete cannot choose a file either (it warns and keeps the entries): keystone removes them.
    const deleted = await h.run(['delete'], { env: { KUBECONFIG } });
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain(`removed context ${ctx} from ${other}`);
    const after = parse(await readFile(other, 'utf8'));
    expect([after.contexts, after.clusters, after.users].map((l) => l.map((e: { name: string }) => e.name))).toEqual([
      ['other'],
      ['other'],
      ['admin@other'],
    ]);
    expect(after['current-context']).toBe('other');
    expect(await modeOf(other)).toBe('600');
  });

  it('no file of the list exists: the last one is created, 0600 (as kubectl config set-context does)', async () => {
    h = await createHarness();
    const [first, last] = [join(h.home, 'first.yaml'), join(h.home, 'sub', 'last.yaml')];
    const r = await h.run(['setup'], { env: { KUBECONFIG: `${first}:${last}` } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(first)).toBe(false);
    expect(await contextsIn(last)).toEqual([ctx]);
    expect(await modeOf(last)).toBe('600');
    expect(parse(await readFile(last, 'utf8'))['current-context']).toBeUndefined();
  });
});

describe('setup --kubeconfig FILE', { timeout: 90_000 }, () => {
  it('a file that does not exist yet is created (0600) with the context, and used by the next commands', async () => {
    h = await createHarness();
    const file = join(h.home, 'new', 'keystone.yaml');
    const dry = await h.run(['setup', '--dry-run', '--kubeconfig', file]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`would write context ${ctx} into ${file}`);
    expect(existsSync(file)).toBe(false);
    const r = await h.run(['setup', '--kubeconfig', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await contextsIn(file)).toEqual([ctx]);
    expect(await modeOf(file)).toBe('600');
    expect(existsSync(h.kubeconfig)).toBe(false);
    expect((await h.run(['pods', '--kubeconfig', file])).exitCode).toBe(0);
  });
});

describe('a lost kubeconfig entry', { timeout: 90_000 }, () => {
  it('commands name the files they read (no placeholder context) and setup writes the entry again; so does start', async () => {
    h = await createReadyHarness();
    const drop = async () => {
      const doc = parse(await readFile(h.kubeconfig, 'utf8'));
      doc.contexts = doc.contexts.filter((c: { name: string }) => c.name !== ctx);
      await writeFile(h.kubeconfig, stringify(doc), { mode: 0o600 });
    };
    await drop();
    const lost = await h.run(['pods']);
    expect(lost.exitCode).toBe(1);
    expect(lost.stderr).toContain(`error: context "${ctx}" is not in ${h.kubeconfig} (it has no contexts)`);
    expect(lost.stderr).toContain(
      `hint: run \`keystone setup\`: it creates the cluster if needed and writes its context into ${h.kubeconfig}`,
    );
    expect(lost.stderr).not.toContain('loaded-context');
    // doctor's hint is a command that works (k3d kubeconfig merge would write ~/.config/k3d/…).
    const doctor = await h.run(['doctor']);
    expect(doctor.stdout + doctor.stderr).toContain('`keystone setup` writes the context again');
    expect(doctor.stdout + doctor.stderr).not.toContain('kubeconfig merge');

    const repaired = await h.run(['setup']);
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expect(repaired.stderr).toContain(`wrote context ${ctx} into ${h.kubeconfig}`);
    expect((await h.run(['pods'])).exitCode).toBe(0);

    await drop();
    const started = await h.run(['start']);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stderr).toContain(`wrote context ${ctx} into ${h.kubeconfig}`);
    expect(await contextsIn(h.kubeconfig)).toContain(ctx);
  });

  it('stale credentials (the API answers 401): the hint is setup, which writes the current ones', async () => {
    h = await createReadyHarness();
    // The cluster's credentials changed (as when it is recreated): k3d now prints a new token,
    // and the API server refuses every other one.
    const state = await h.state();
    state.clusters['keystone-cluster'].token = 'rotated-token';
    await h.setState(state);
    h.api.faults.push({
      match: (r) => r.headers.authorization !== 'Bearer rotated-token',
      status: 401,
      body: status(401, 'Unauthorized', 'Unauthorized'),
      times: 1_000,
    });
    const refused = await h.run(['pods']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      'hint: your credentials for this cluster were refused: for the keystone cluster `keystone setup` writes its current ones',
    );
    expect(refused.stderr).not.toContain('kubeconfig merge');
    const repaired = await h.run(['setup']);
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expect(repaired.stderr).toContain(`wrote context ${ctx} into ${h.kubeconfig}`);
    expect((await h.run(['pods'])).exitCode).toBe(0);
  });

  it("no kubeconfig at all: the message names ~/.kube/config, not client-node's loaded-context", async () => {
    h = await createHarness();
    const r = await h.run(['pods'], { env: { KUBECONFIG: '' } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `error: context "${ctx}" is not in any kubeconfig (${join(h.home, '.kube', 'config')} does not exist)`,
    );
    expect(r.stderr).not.toContain('loaded-context');
  });
});

describe('KUBECONFIG lists as kubectl reads them', { timeout: 90_000 }, () => {
  it('a missing or an empty file in the list is skipped; a broken one is named alone', async () => {
    h = await createReadyHarness();
    const missing = join(h.home, 'missing.yaml');
    const empty = join(h.home, 'empty.yaml');
    const broken = join(h.home, 'broken.yaml');
    await writeFile(empty, '', { mode: 0o600 });
    await writeFile(broken, 'clusters: [\n  - {name: a\n', { mode: 0o600 });
    for (const KUBECONFIG of [
      `${missing}:${h.kubeconfig}`,
      `${empty}:${h.kubeconfig}`,
      `${h.kubeconfig}:${empty}:${missing}`,
    ]) {
      const r = await h.run(['pods', '-o', 'json'], { env: { KUBECONFIG } });
      expect(r.exitCode, `${KUBECONFIG}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout).length).toBeGreaterThan(0);
    }
    const r = await h.run(['pods'], { env: { KUBECONFIG: `${h.kubeconfig}:${broken}` } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`error: kubeconfig ${broken} is not valid YAML: .+`));
    expect(r.stderr).toContain(`hint: kubectl refuses it too: fix or move ${broken}, or leave it out of KUBECONFIG`);
    expect(r.stderr).not.toContain(`${h.kubeconfig}:`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
