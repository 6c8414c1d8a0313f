import { describe, expect, it } from 'vitest';
import { healthyVerdict, verdict, type StatusReport } from '../../src/health/status-report.js';

function report(over: Partial<StatusReport> = {}): StatusReport {
  return {
    context: 'k3d-lab',
    cluster: { name: 'lab', managedBy: 'k3d', phase: 'running' },
    api: { reachable: true },
    nodes: [{ name: 'k3d-lab-server-0', ready: true } as StatusReport['nodes'][number]],
    stack: {
      namespace: 'keystone',
      deployments: [{ name: 'redis', ready: 1, desired: 1, upToDate: true }],
      volumes: [{ name: 'data', phase: 'Bound' }],
      services: [],
      simulations: [],
    },
    healthy: false,
    verdict: '',
    ...over,
  };
}

describe('the cluster health verdict (src/health)', () => {
  it('is healthy only when nodes, deployments and volumes all are', () => {
    expect(verdict(report(), 1)).toBe(healthyVerdict);
  });

  it('names the first thing wrong, in the order a person would look', () => {
    expect(verdict(report({ cluster: { name: 'lab', managedBy: 'k3d', phase: 'stopped' } }), 1)).toMatch(/stopped; run `keystone start`/);
    expect(verdict(report({ api: { reachable: false } }), 1)).toMatch(/API cannot be reached/);
    expect(verdict(report(), 2)).toMatch(/fewer nodes than the config asks for/);
    const base = report();
    expect(verdict({ ...base, stack: { ...base.stack!, deployments: [{ name: 'celery-worker', ready: 1, desired: 3, upToDate: true }] } }, 1)).toMatch(/deployments not ready: celery-worker 1\/3/);
    expect(verdict({ ...base, stack: { ...base.stack!, deployments: [{ name: 'celery-worker', ready: 0, desired: 0, upToDate: true }] } }, 1)).toMatch(/celery-worker is scaled to 0 .*`keystone scale celery-worker 1`/);
    expect(verdict({ ...base, stack: { ...base.stack!, volumes: [{ name: 'data', phase: 'Pending' }] } }, 1)).toBe('Not healthy: volumes not bound: data Pending.');
  });
});
