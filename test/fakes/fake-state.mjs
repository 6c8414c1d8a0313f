// Shared state of the fake executables: one JSON file in $KEYSTONE_FAKE_DIR that tests
// arrange before running the CLI and inspect afterwards, plus a log of every call's argv.
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const fakeDir = () => {
  const dir = process.env.KEYSTONE_FAKE_DIR;
  if (!dir) {
    process.stderr.write('fake tool: KEYSTONE_FAKE_DIR is not set\n');
    process.exit(99);
  }
  return dir;
};

export function loadState() {
  const file = join(fakeDir(), 'state.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

export function saveState(state) {
  writeFileSync(join(fakeDir(), 'state.json'), JSON.stringify(state, null, 2));
}

export function logCall(tool, argv) {
  appendFileSync(join(fakeDir(), 'calls.jsonl'), `${JSON.stringify({ tool, argv, env: { KUBECONFIG: process.env.KUBECONFIG } })}\n`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Talks to the fake API server the way a cluster's own components would. */
export async function apiCall(method, path, body) {
  const base = process.env.KEYSTONE_FAKE_API;
  if (!base) return undefined;
  const res = await fetch(base + path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.status;
}
