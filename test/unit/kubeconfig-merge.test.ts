// Writing and removing a k3d cluster's kubeconfig entries (src/kube/kubeconfig/merge.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { KubeconfigFileError } from '../../src/kube/kubeconfig/load.js';
import {
  applyKubeconfigMerge,
  k3dEntryNames,
  parseFetchedKubeconfig,
  planKubeconfigMerge,
  removeKubeconfigEntries,
} from '../../src/kube/kubeconfig/merge.js';

let dir: string;
afterEach(async () => rm(dir, { recursive: true, force: true }));

// What `k3d kubeconfig get demo` prints (k3d v5.8.3 cmd/kubeconfig/kubeconfigGet.go: "---", then the document).
const printed = `---\n${stringify({
  apiVersion: 'v1',
  clusters: [{ name: 'k3d-demo', cluster: { 'certificate-authority-data': 'Q0E=', server: 'https://127.0.0.1:6443' } }],
  contexts: [{ name: 'k3d-demo', context: { cluster: 'k3d-demo', user: 'admin@k3d-demo' } }],
  'current-context': 'k3d-demo',
  kind: 'Config',
  preferences: {},
  users: [{ name: 'admin@k3d-demo', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } }],
})}`;
const mode = async (file: string) => (await stat(file)).mode & 0o777;

describe("writing a cluster's entries", () => {
  it('keeps the other entries, comments and current-context, makes the file 0600, and a second plan writes nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keystone-merge-'));
    const file = join(dir, 'config');
    await writeFile(
      file,
      '# my clusters\napiVersion: v1\nkind: Config\ncurrent-context: prod # keep me\nclusters:\n- name: prod\n  cluster: {server: "https://prod:1"}\ncontexts:\n- name: prod\n  context: {cluster: prod, user: me}\nusers:\n- name: me\n  user: {token: t}\n',
      { mode: 0o644 },
    );
    const fetched = await parseFetchedKubeconfig(printed, 'demo');
    const plan = await planKubeconfigMerge(fetched, [file]);
    expect([...plan.writes.keys()]).toEqual([file]);
    await applyKubeconfigMerge(plan);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# my clusters');
    expect(text).toContain('# keep me');
    const doc = parse(text);
    expect(doc['current-context']).toBe('prod');
    expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(['prod', 'k3d-demo']);
    expect(doc.users.map((c: { name: string }) => c.name)).toEqual(['me', 'admin@k3d-demo']);
    expect(await mode(file)).toBe(0o600);
    expect((await planKubeconfigMerge(fetched, [file])).writes.size).toBe(0);
  });

  it('replaces a stale entry in place and writes through a symlinked kubeconfig, leaving the link', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keystone-merge-'));
    const real = join(dir, 'real.yaml');
    const link = join(dir, 'config');
    await writeFile(real, stringify({ clusters: [{ name: 'k3d-demo', cluster: { server: 'https://old:1' } }] }), {
      mode: 0o600,
    });
    await symlink(real, link);
    await applyKubeconfigMerge(await planKubeconfigMerge(await parseFetchedKubeconfig(printed, 'demo'), [link]));
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    const doc = parse(await readFile(real, 'utf8'));
    expect(doc.clusters).toHaveLength(1);
    expect(doc.clusters[0].cluster.server).toBe('https://127.0.0.1:6443');
  });

  it('never overwrites a file kubectl cannot read', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keystone-merge-'));
    const file = join(dir, 'config');
    await writeFile(file, 'clusters: [\n', { mode: 0o600 });
    await expect(planKubeconfigMerge(await parseFetchedKubeconfig(printed, 'demo'), [file])).rejects.toBeInstanceOf(
      KubeconfigFileError,
    );
    expect(await readFile(file, 'utf8')).toBe('clusters: [\n');
  });

  it("k3d output without the cluster's context: an error whose hint is a command that works", async () => {
    await expect(parseFetchedKubeconfig('---\n', 'demo')).rejects.toThrow(/without a usable context "k3d-demo"/);
    await expect(parseFetchedKubeconfig('---\n', 'demo')).rejects.toMatchObject({
      hint: expect.stringContaining('`k3d kubeconfig get demo`'),
    });
  });
});

describe("removing a deleted cluster's entries", () => {
  it('from every listed file holding them; the current-context is left and reported', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keystone-merge-'));
    const [a, b, c] = [join(dir, 'a.yaml'), join(dir, 'b.yaml'), join(dir, 'c.yaml')];
    const fetched = await parseFetchedKubeconfig(printed, 'demo');
    const doc = { apiVersion: 'v1', kind: 'Config', ...fetched, 'current-context': 'k3d-demo' };
    await writeFile(a, stringify(doc), { mode: 0o600 });
    await writeFile(
      b,
      stringify({
        ...doc,
        'current-context': 'other',
        contexts: [...doc.contexts, { name: 'other', context: { cluster: 'x', user: 'y' } }],
      }),
      { mode: 0o600 },
    );
    await writeFile(c, stringify({ contexts: [{ name: 'other', context: { cluster: 'x', user: 'y' } }] }), {
      mode: 0o600,
    });
    const before = await readFile(c, 'utf8');
    const { changed, dangling } = await removeKubeconfigEntries(k3dEntryNames('demo'), [
      a,
      join(dir, 'missing.yaml'),
      b,
      c,
    ]);
    expect(changed).toEqual([a, b]);
    expect(dangling).toEqual([a]);
    expect(parse(await readFile(a, 'utf8'))).toMatchObject({
      clusters: [],
      users: [],
      contexts: [],
      'current-context': 'k3d-demo',
    });
    expect(parse(await readFile(b, 'utf8')).contexts.map((x: { name: string }) => x.name)).toEqual(['other']);
    expect(await readFile(c, 'utf8')).toBe(before);
  });
});
