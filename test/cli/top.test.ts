// keystone top: CPU and memory from metrics.k8s.io, which the fake API server serves only when a
// test enables it (as a cluster without metrics-server has no such API).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReadyHarness, type Harness } from '../helpers/harness.js';
import { topSchema } from '../../src/output/schemas.js';

let h: Harness;
beforeEach(async () => {
  h = await createReadyHarness();
});
afterEach(async () => h?.cleanup());

const podNamed = (prefix: string) =>
  h.api.objects('pods').find((p: any) => p.metadata.name.startsWith(prefix)).metadata.name as string;

describe('top', () => {
  it('without the metrics API: says so and how to get it, exit 1, no numbers', async () => {
    const r = await h.run(['top']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the cluster has no metrics API (metrics.k8s.io is not served)');
    expect(r.stderr).toContain('--disable=metrics-server');
    const json = await h.run(['top', '-o', 'json']);
    expect(json.exitCode).toBe(1);
    expect(json.stdout).toBe('');
  });

  it('with the API registered but metrics-server not answering: the 503 and what to do', async () => {
    h.api.metrics = 'unavailable';
    const r = await h.run(['top']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('the metrics API is registered but not answering (HTTP 503');
    expect(r.stdout).toBe('');
  });

  it("per node and per pod: millicores and Mi as kubectl top shows them, a node's percent of its allocatable", async () => {
    const nodes = h.api
      .objects('nodes')
      .map((n: any) => n.metadata.name as string)
      .sort();
    // The fake nodes report 4 CPUs and 8Gi allocatable, as k3d's do; one that reports none has no percent.
    expect(h.api.get('nodes', undefined, nodes[0]).status.allocatable).toMatchObject({ cpu: '4', memory: '8Gi' });
    const second = h.api.get('nodes', undefined, nodes[1]);
    const { allocatable: _, ...rest } = second.status;
    h.api.update('nodes', { ...second, status: rest });
    const redis = podNamed('redis-');
    const worker = podNamed('celery-worker-');
    h.api.metrics = {
      nodes: {
        [nodes[0]!]: { cpu: '1000000000n', memory: '2097152Ki' },
        [nodes[1]!]: { cpu: '250m', memory: '512Mi' },
      },
      pods: {
        [`keystone/${redis}`]: { redis: { cpu: '3127431n', memory: '8564Ki' } },
        [`keystone/${worker}`]: { worker: { cpu: '120m', memory: '100Mi' }, sidecar: { cpu: '5m', memory: '28Mi' } },
      },
    };
    const json = await h.run(['top', '-o', 'json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(topSchema.safeParse(report).error?.issues ?? []).toEqual([]);
    expect(report.nodes).toEqual([
      { name: nodes[0], cpuMillicores: 1000, cpuPercent: 25, memoryBytes: 2 * 1024 ** 3, memoryPercent: 25 },
      { name: nodes[1], cpuMillicores: 250, memoryBytes: 512 * 1024 ** 2 },
    ]);
    expect(report.pods).toEqual(
      [
        { name: redis, cpuMillicores: 3, memoryBytes: 8564 * 1024 },
        { name: worker, cpuMillicores: 125, memoryBytes: 128 * 1024 ** 2 },
      ].sort((a, b) => a.name.localeCompare(b.name)),
    );
    const table = await h.run(['top']);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(
        `NODE\\s+CPU\\(cores\\)\\s+CPU\\(%\\)\\s+MEMORY\\(bytes\\)\\s+MEMORY\\(%\\)\\n${nodes[0]}\\s+1000m\\s+25%\\s+2048Mi\\s+25%\\n${nodes[1]}\\s+250m\\s+<unknown>\\s+512Mi\\s+<unknown>\\n`,
      ),
    );
    expect(table.stdout).toMatch(new RegExp(`\\n${worker}\\s+125m\\s+128Mi\\n?`));
    expect(table.stdout).toMatch(new RegExp(`\\n${redis}\\s+3m\\s+8Mi\\n?`));
  });
});
