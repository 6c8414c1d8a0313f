// A run's output directory in `jobs -o json`: a path or null, never a sentence (issue 11 #15).
import { describe, expect, it } from 'vitest';
import { summarizeRun } from '../../src/simulate/runs.js';
import type { JobObject } from '../../src/simulate/job-builder.js';
import type { PodObject } from '../../src/stack/rollout.js';

const job = (annotations: Record<string, string>): JobObject =>
  ({ metadata: { name: 'lammps-x', labels: { 'keystone.io/run-id': 'x', 'keystone.io/simulation': 'lammps' }, annotations }, spec: { template: { spec: { containers: [] } } } }) as unknown as JobObject;
const pod = (nodeName: string): PodObject => ({ metadata: { name: `p-${nodeName}` }, spec: { nodeName } }) as unknown as PodObject;

describe('run output location', () => {
  it('a run on this machine: its host path, local, no nodes', () => {
    const s = summarizeRun(job({ 'keystone.io/output-dir': '/home/u/p/data/lammps/runs/x', 'keystone.io/output-on': 'host' }), [pod('k3d-a-0')]);
    expect(s).toMatchObject({ outputDir: '/home/u/p/data/lammps/runs/x', outputLocal: true, outputNodes: [] });
  });
  it('a run on another cluster: the node path, and the nodes that ran it', () => {
    const s = summarizeRun(job({ 'keystone.io/output-dir': '/data/lammps/runs/x', 'keystone.io/output-on': 'node' }), [pod('n2'), pod('n1'), pod('n2')]);
    expect(s).toMatchObject({ outputDir: '/data/lammps/runs/x', outputLocal: false, outputNodes: ['n1', 'n2'] });
  });
  it('Jobs made before the fix held a sentence: read back as the path, on the node', () => {
    const s = summarizeRun(job({ 'keystone.io/output-dir': '/data/lammps/runs/x on the node that runs it (context lab)' }), []);
    expect(s).toMatchObject({ outputDir: '/data/lammps/runs/x', outputLocal: false, outputNodes: [] });
  });
  it('no annotation: null', () => {
    expect(summarizeRun(job({}), [])).toMatchObject({ outputDir: null, outputLocal: false, outputNodes: [] });
  });
});
