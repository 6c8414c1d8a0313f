// Shared state of the fake executables: one JSON file in $KEYSTONE_FAKE_DIR that tests
// arrange before running the CLI and inspect afterwards, plus a log of every call's argv.
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * The process a fake runs as: the real one when it runs as an executable, or the one the tests'
 * in-process runner (test/helpers/fake-tools.ts) gives it. A `killed` one has been stopped (its
 * deadline passed): it changes nothing any more.
 */
// One store per process even if this module is loaded twice (by vitest and by Node's own loader).
export const fakeProcess = (globalThis[Symbol.for('keystone.fakeProcess')] ??= new AsyncLocalStorage());
const proc = () => fakeProcess.getStore() ?? process;
const killed = () => Boolean(fakeProcess.getStore()?.killed);

export const fakeDir = () => {
  const dir = proc().env.KEYSTONE_FAKE_DIR;
  if (!dir) {
    proc().stderr.write('fake tool: KEYSTONE_FAKE_DIR is not set\n');
    proc().exit(99);
  }
  return dir;
};

export function loadState() {
  const file = join(fakeDir(), 'state.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

export function saveState(state) {
  if (killed()) proc().exit(137);
  writeFileSync(join(fakeDir(), 'state.json'), JSON.stringify(state, null, 2));
}

/**
 * Logs the call, then holds it open when a test asked to (state.holdCall: the number of the call
 * in calls.jsonl, counted from 1): the fake writes `held` in the fake directory and waits until
 * the test writes `release`, so a test can interrupt keystone in the middle of this call without
 * guessing with sleeps. A killed fake (keystone stopped it) ends there, as a killed process would.
 */
export async function logCall(tool, argv) {
  const file = join(fakeDir(), 'calls.jsonl');
  appendFileSync(file, `${JSON.stringify({ tool, argv, env: { KUBECONFIG: proc().env.KUBECONFIG } })}\n`);
  const holdAt = loadState().holdCall;
  if (holdAt === undefined || readFileSync(file, 'utf8').trim().split('\n').length !== holdAt) return;
  writeFileSync(join(fakeDir(), 'held'), JSON.stringify({ tool, argv }));
  while (!existsSync(join(fakeDir(), 'release'))) await sleep(10);
}

export const sleep = async (ms) => {
  await new Promise((r) => setTimeout(r, ms));
  if (killed()) proc().exit(137); // a killed process does not wake up
};

/** Talks to the fake API server the way a cluster's own components would. */
export async function apiCall(method, path, body) {
  const base = proc().env.KEYSTONE_FAKE_API;
  if (!base) return undefined;
  if (killed()) proc().exit(137);
  const res = await fetch(base + path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.status;
}

/**
 * Docker's image ID for a tag: the SHA-256 of the image's config, so a rebuild that changes the
 * image gives a new ID (the tag moves) and `k3d image import` keeps it (the config blob is copied
 * as it is). Tests set docker.imageIds; otherwise one is derived from the tag.
 */
export function dockerImageId(docker, tag) {
  return docker?.imageIds?.[tag] ?? `sha256:${createHash('sha256').update(`image:${tag}`).digest('hex')}`;
}
