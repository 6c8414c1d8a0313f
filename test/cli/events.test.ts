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
    for (let i = 0; i < 3; i++) rec(created, 'Warning', 'BackOff', 'Back-off restarting failed container c in pod probe', 'kubelet', 'k3d-keystone-agent-0');
    const json = await h.run(['events', '-o', 'json', '--for', 'pod/probe']);
    expect(json.exitCode, json.stderr).toBe(0);
    const list = JSON.parse(json.stdout);
    expect(eventsSchema.safeParse(list).error?.issues ?? []).toEqual([]);
    const backoff = list.filter((e: any) => e.reason === 'BackOff');
    expect(backoff).toHaveLength(1);
    expect(backoff[0]).toMatchObject({ type: 'Warning', count: 3, object: { kind: 'Pod', name: 'probe' }, source: 'kubelet' });
    expect(list.map((e: any) => e.reason)).toContain('Scheduled');
    expect(list.at(-1).lastSeen >= list[0].lastSeen).toBe(true);

    const table = await h.run(['events', '--for', 'probe']);
    expect(table.exitCode, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(lines.find((l) => l.includes('BackOff'))).toMatch(/^\d+s \(x3 over \d+s\)\s+Warning\s+BackOff\s+Pod\/probe\s+Back-off restarting failed container c in pod probe$/);
    expect(lines.every((l) => !l.includes('Pod/') || l.includes('Pod/probe'))).toBe(true);
  });

  it('a pod that cannot be scheduled gets the scheduler\'s FailedScheduling warning', async () => {
    h.api.create('pods', { ...pod('huge'), spec: { containers: [{ name: 'c', image: 'redis:7.4', resources: { requests: { memory: '512Gi' } } }] } });
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
    h.cluster.recordEvent(created, 'Warning', 'Unhealthy', 'Readiness probe failed: connection refused', 'kubelet', 'node');
    await until(() => out.includes('Unhealthy'), 'the followed event');
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    const followed = out.trim().split('\n').slice(1).map((l) => JSON.parse(l));
    expect(followed.find((e: any) => e.reason === 'Unhealthy')).toMatchObject({ type: 'Warning', count: 1, object: { name: 'later' } });
  });
});
