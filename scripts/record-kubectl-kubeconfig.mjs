// Records how the real kubectl reads and writes the kubeconfig lists in
// test/fixtures/kubeconfig-lists/scenarios.mjs, for machines without kubectl.
// Run: node scripts/record-kubectl-kubeconfig.mjs   (KEYSTONE_REAL_KUBECTL=/path/to/kubectl to choose one)
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findRealKubectl,
  kubectlRead,
  kubectlWrite,
  readScenarios,
  scenarioFiles,
  whereWritten,
  writeScenarios,
} from '../test/fixtures/kubeconfig-lists/scenarios.mjs';

const kubectl = findRealKubectl();
if (!kubectl) {
  console.error('no real kubectl found (set KEYSTONE_REAL_KUBECTL)');
  process.exit(1);
}
function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-lists-'));
  for (const [name, text] of Object.entries(scenarioFiles())) writeFileSync(join(dir, name), text, { mode: 0o600 });
  mkdirSync(join(dir, 'dir.yaml'));
  return dir;
}
const read = {};
for (const s of readScenarios) {
  const dir = scratch();
  read[s.name] = kubectlRead(kubectl.path, dir, s.kubeconfig);
  rmSync(dir, { recursive: true, force: true });
}
const write = {};
for (const s of writeScenarios) {
  const dir = scratch();
  const before = readdirSync(dir);
  kubectlWrite(kubectl.path, dir, s.kubeconfig, s.entry);
  write[s.name] = whereWritten(dir, s.entry, before);
  rmSync(dir, { recursive: true, force: true });
}
const out = join(import.meta.dirname, '..', 'test', 'fixtures', 'kubeconfig-lists', 'kubectl-recorded.json');
writeFileSync(
  out,
  `${JSON.stringify({ note: `recorded from kubectl ${kubectl.version} by scripts/record-kubectl-kubeconfig.mjs`, kubectl: kubectl.version, read, write }, null, 2)}\n`,
);
console.log(`wrote ${out} (kubectl ${kubectl.version} at ${kubectl.path})`);
