// Kubeconfig lists read and written by keystone and by the real kubectl over the same files.
// keystone is always checked against the answers recorded from kubectl (kubectl-recorded.json,
// which names its kubectl version). With KEYSTONE_REAL_KUBECTL set (see findRealKubectl) every case
// also runs through that real kubectl, which keeps the recording true; never by default, so the
// kubectl this machine happens to have does not decide whether `npm test` passes.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  findRealKubectl,
  kubectlRead,
  kubectlWrite,
  readScenarios,
  scenarioFiles,
  whereWritten,
  writeScenarios,
  written,
} from '../fixtures/kubeconfig-lists/scenarios.mjs';
import { kubeconfigFiles } from '../../src/kube/kubeconfig/files.js';
import { KubeconfigFileError, loadKubeconfigs } from '../../src/kube/kubeconfig/load.js';
import { applyKubeconfigMerge, planKubeconfigMerge } from '../../src/kube/kubeconfig/merge.js';

const recording = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/kubeconfig-lists/kubectl-recorded.json'), 'utf8'),
);
const kubectl = findRealKubectl();
const source = kubectl
  ? `kubectl ${kubectl.version} at ${kubectl.path}, and the recording from kubectl ${recording.kubectl}`
  : `the recording from kubectl ${recording.kubectl} (KEYSTONE_REAL_KUBECTL not set)`;

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keystone-kubeconfig-lists-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(scenarioFiles())) await writeFile(join(dir, name), text, { mode: 0o600 });
  await mkdir(join(dir, 'dir.yaml'));
  return dir;
}

const listed = (dir: string, kubeconfig: string) =>
  kubeconfigFiles(undefined, { KUBECONFIG: kubeconfig }).map((f) => join(dir, f));

async function keystoneRead(dir: string, kubeconfig: string) {
  try {
    const merged = await loadKubeconfigs(listed(dir, kubeconfig));
    const pick = <T>(section: 'clusters' | 'users' | 'contexts', f: (body: Record<string, any>) => T) =>
      Object.fromEntries(
        [...merged.entries[section]].map(([name, { entry }]) => [
          name,
          f((entry[section.slice(0, -1)] ?? {}) as Record<string, any>),
        ]),
      );
    return {
      ok: true,
      currentContext: merged.currentContext ?? null,
      clusters: pick('clusters', (b) => b.server ?? ''),
      users: pick('users', (b) => b.token ?? null),
      contexts: pick('contexts', (b) => ({ cluster: b.cluster ?? '', user: b.user ?? '' })),
    };
  } catch (err) {
    if (err instanceof KubeconfigFileError) return { ok: false, file: basename(err.file) };
    throw err;
  }
}

describe(`kubeconfig lists read as kubectl reads them (${source})`, () => {
  for (const scenario of readScenarios) {
    it(`${scenario.name} (KUBECONFIG=${scenario.kubeconfig})`, async () => {
      const dir = await scratch();
      const expected = recording.read[scenario.name];
      expect(expected, 'recorded').toBeDefined();
      expect(await keystoneRead(dir, scenario.kubeconfig)).toEqual(expected);
      if (kubectl) expect(kubectlRead(kubectl.path, dir, scenario.kubeconfig), 'the real kubectl').toEqual(expected);
    });
  }
});

describe(`kubeconfig entries written where kubectl config set-* writes them (${source})`, () => {
  for (const scenario of writeScenarios) {
    it(`${scenario.name} (KUBECONFIG=${scenario.kubeconfig})`, async () => {
      const expected = recording.write[scenario.name];
      expect(expected, 'recorded').toBeDefined();
      const dir = await scratch();
      const before = await readdir(dir);
      await applyKubeconfigMerge(await planKubeconfigMerge(written(scenario.entry), listed(dir, scenario.kubeconfig)));
      expect(whereWritten(dir, scenario.entry, before)).toEqual(expected);
      if (kubectl) {
        const theirs = await scratch();
        kubectlWrite(kubectl.path, theirs, scenario.kubeconfig, scenario.entry);
        expect(whereWritten(theirs, scenario.entry, before), 'the real kubectl').toEqual(expected);
      }
    });
  }
});
