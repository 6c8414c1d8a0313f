import { describe, expect, it } from 'vitest';
import { healthyVerdict, verdict, type StatusReport } from '../../src/health/status-report.js';
import { observeClusterFromNodes } from '../../src/cluster/state.js';

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
    expect(verdict(report({ cluster: { name: 'lab', managedBy: 'k3d', phase: 'stopped' } }), 1)).toMatch(
      /stopped; run `keystone start`/,
    );
    expect(verdict(report({ api: { reachable: false } }), 1)).toMatch(/API cannot be reached/);
    expect(verdict(report(), 2)).toMatch(/fewer nodes than the config asks for/);
    const base = report();
    expect(
      verdict(
        {
          ...base,
          stack: { ...base.stack!, deployments: [{ name: 'celery-worker', ready: 1, desired: 3, upToDate: true }] },
        },
        1,
      ),
    ).toMatch(/deployments not ready: celery-worker 1\/3/);
    expect(
      verdict(
        {
          ...base,
          stack: { ...base.stack!, deployments: [{ name: 'celery-worker', ready: 0, desired: 0, upToDate: true }] },
        },
        1,
      ),
    ).toMatch(/celery-worker is scaled to 0 .*`keystone scale celery-worker 1`/);
    expect(verdict({ ...base, stack: { ...base.stack!, volumes: [{ name: 'data', phase: 'Pending' }] } }, 1)).toBe(
      'Not healthy: volumes not bound: data Pending.',
    );
  });
});

describe('the k3d cluster seen in its nodes (src/cluster/state.ts observeClusterFromNodes)', () => {
  const server = (i: number, ready = true) => ({
    name: `k3d-lab-server-${i}`,
    ready,
    roles: ['control-plane', 'etcd', 'master'],
  });
  const agent = (i: number, ready = true) => ({ name: `k3d-lab-agent-${i}`, ready, roles: ['worker'] });
  const wanted = { servers: 2, agents: 1 };

  it('is running with every node up when all are Ready, named by k3d and as many as the config asks for', () => {
    expect(observeClusterFromNodes('lab', [server(0), server(1), agent(0)], wanted)).toEqual({
      name: 'lab',
      phase: 'running',
      servers: { running: 2, count: 2 },
      agents: { running: 1, count: 1 },
    });
  });

  it('cannot tell (undefined: k3d is asked) when a node is NotReady, missing or extra', () => {
    expect(observeClusterFromNodes('lab', [server(0), server(1), agent(0, false)], wanted)).toBeUndefined();
    expect(observeClusterFromNodes('lab', [server(0), agent(0)], wanted)).toBeUndefined();
    expect(observeClusterFromNodes('lab', [server(0), server(1), agent(0), agent(1)], wanted)).toBeUndefined();
    expect(observeClusterFromNodes('lab', [], wanted)).toBeUndefined();
  });

  it("cannot tell when a node is not one of this cluster's k3d nodes, or a server is not labelled control-plane yet", () => {
    expect(
      observeClusterFromNodes('lab', [server(0), server(1), { ...agent(0), name: 'k3d-lab2-agent-0' }], wanted),
    ).toBeUndefined();
    expect(
      observeClusterFromNodes('lab', [server(0), server(1), { ...agent(0), name: 'laptop' }], wanted),
    ).toBeUndefined();
    // k3s labels a server after its node registers (setControlPlaneRoleLabel): until then it looks like neither.
    expect(
      observeClusterFromNodes('lab', [server(0), { ...server(1), roles: ['worker'] }, agent(0)], wanted),
    ).toBeUndefined();
    expect(
      observeClusterFromNodes('lab', [server(0), server(1), { ...agent(0), roles: ['control-plane'] }], wanted),
    ).toBeUndefined();
  });

  it('reads a cluster name with dots literally', () => {
    expect(
      observeClusterFromNodes('a.b', [{ name: 'k3d-a.b-server-0', ready: true, roles: ['control-plane'] }], {
        servers: 1,
        agents: 0,
      })?.phase,
    ).toBe('running');
    expect(
      observeClusterFromNodes('a.b', [{ name: 'k3d-axb-server-0', ready: true, roles: ['control-plane'] }], {
        servers: 1,
        agents: 0,
      }),
    ).toBeUndefined();
  });
});
