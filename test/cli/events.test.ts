// keystone events over the fake API server, whose scheduler and kubelet record core/v1 Events
// as the real ones do (count and lastTimestamp updated on a repeat).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReadyHarness, until, type Harness } from '../helpers/harness.js';
import { eventsSchema } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const pod = (name: string, image = 'redis:7.4') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'keystone' },
  spec: { containers: [{ name: 'c', image }] },
});

describe('events', () => {
  it('lists the namespace\'s events newest last, a repeated one counted once ("x3 over"), as JSON matching its schema', async () => {
    const created = h.api.create('pods', pod('probe'));
    const rec = h.cluster.recordEvent;
    for (let i = 0; i < 3; i++)
      rec(
        created,
        'Warning',
        'BackOff',
        'Back-off restarting failed container c in pod probe',
        'kubelet',
        'k3d-keystone-agent-0',
      );
    const json = await h.run(['events', '-o', 'json', '--for', 'pod/probe']);
    expect(json.exitCode, json.stderr).toBe(0);
    const list = JSON.parse(json.stdout);
    expect(eventsSchema.safeParse(list).error?.issues ?? []).toEqual([]);
    const backoff = list.filter((e: any) => e.reason === 'BackOff');
    expect(backoff).toHaveLength(1);
    expect(backoff[0]).toMatchObject({
      type: 'Warning',
      count: 3,
      object: { kind: 'Pod', name: 'probe' },
      source: 'kubelet',
    });
    expect(list.map((e: any) => e.reason)).toContain('Scheduled');
    expect(list.at(-1).lastSeen >= list[0].lastSeen).toBe(true);

    const table = await h.run(['events', '--for', 'probe']);
    expect(table.exitCode, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(lines.find((l) => l.includes('BackOff'))).toMatch(
      /^\d+s \(x3 over \d+s\)\s+Warning\s+BackOff\s+Pod\/probe\s+Back-off restarting failed container c in pod probe$/,
    );
    expect(lines.every((l) => !l.includes('Pod/') || l.includes('Pod/probe'))).toBe(true);
  });

  it("a pod that cannot be scheduled gets the scheduler's FailedScheduling warning", async () => {
    h.api.create('pods', {
      ...pod('huge'),
      spec: { containers: [{ name: 'c', image: 'redis:7.4', resources: { requests: { memory: '512Gi' } } }] },
    });
    await until(() => h.api.objects('events').some((e: any) => e.reason === 'FailedScheduling'), 'FailedScheduling');
    const r = await h.run(['events', '-o', 'json', '--for', 'huge']);
    const [e] = JSON.parse(r.stdout);
    expect(e).toMatchObject({ type: 'Warning', reason: 'FailedScheduling', source: 'default-scheduler' });
    expect(e.message).toContain('Insufficient memory');
  });

  it('-f follows: an event recorded later is printed as it comes; Ctrl-C ends it with 130', async () => {
    const created = h.api.create('pods', pod('later'));
    const child = h.spawn(['events', '-f', '-o', 'json', '--for', 'later']);
    let out = '';
    child.stdout!.on('data', (d) => (out += String(d)));
    await until(() => out.includes('\n'), 'the first listing');
    h.cluster.recordEvent(
      created,
      'Warning',
      'Unhealthy',
      'Readiness probe failed: connection refused',
      'kubelet',
      'node',
    );
    await until(() => out.includes('Unhealthy'), 'the followed event');
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    const followed = out
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l));
    expect(followed.find((e: any) => e.reason === 'Unhealthy')).toMatchObject({
      type: 'Warning',
      count: 1,
      object: { name: 'later' },
    });
  });

  it('pods shows the latest warning of an unhealthy pod in one line (and in -o json); healthy pods have none', async () => {
    h.cluster.crashImages.add('docker.io/library/keystone-celery-worker:0.1.0');
    const victim = h.api.objects('pods').find((p: any) => p.metadata.name.startsWith('celery-worker-'));
    h.api.remove('pods', 'keystone', victim.metadata.name);
    await until(() => h.api.objects('events').some((e: any) => e.reason === 'BackOff'), "a crash loop's BackOff event");
    const table = await h.run(['pods']);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      /\ncelery-worker-\S+: Warning BackOff, \d+s ago: Back-off restarting failed container worker in pod celery-worker-\S+_keystone\(uid-\d+\)\n?$/,
    );
    const json = JSON.parse((await h.run(['pods', '-o', 'json'])).stdout);
    const crashing = json.filter((p: any) => p.status === 'CrashLoopBackOff');
    expect(crashing).toHaveLength(1);
    expect(crashing[0].warning).toMatch(/^BackOff, \d+s ago: Back-off restarting failed container worker/);
    expect(json.filter((p: any) => p.healthy).every((p: any) => p.warning === undefined)).toBe(true);
  });

  it('status names the latest warning of an unhealthy object in one line (text and JSON)', async () => {
    h.cluster.crashImages.add('docker.io/library/keystone-celery-worker:0.1.0');
    const victim = h.api.objects('pods').find((p: any) => p.metadata.name.startsWith('celery-worker-'));
    h.api.remove('pods', 'keystone', victim.metadata.name);
    await until(() => h.api.objects('events').some((e: any) => e.reason === 'BackOff'), "a crash loop's BackOff event");
    const text = await h.run(['status']);
    expect(text.stdout).toMatch(
      /\nLatest warning: Pod\/celery-worker-\S+: BackOff, \d+s ago: Back-off restarting failed container worker/,
    );
    const json = JSON.parse((await h.run(['status', '-o', 'json'])).stdout);
    expect(json.healthy).toBe(false);
    expect(json.warning).toMatch(/^Pod\/celery-worker-\S+: BackOff/);
  });
});
