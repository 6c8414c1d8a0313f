import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { purgeableRunDir, selectFinishedRuns } from '../../src/runs/catalog/clean.js';
import { recentRuns } from '../../src/runs/catalog/lookup.js';
import type { RunSummary } from '../../src/runs/model.js';

const now = Date.parse('2026-11-25T12:00:00Z');
const daysAgo = (d: number) => new Date(now - d * 24 * 3600_000).toISOString();

function run(over: Partial<RunSummary>): RunSummary {
  return {
    runId: '20261125-120000-aaaa',
    tool: 'lammps',
    job: 'lammps-x',
    state: 'Succeeded',
    outputDir: null,
    outputLocal: true,
    outputNodes: [],
    ...over,
  };
}

describe('jobs clean selection (src/runs/catalog/clean.ts)', () => {
  const runs = [
    run({ runId: 'a', state: 'Succeeded', finishedAt: daysAgo(10) }),
    run({ runId: 'b', state: 'Failed', finishedAt: daysAgo(10) }),
    run({ runId: 'c', state: 'Failed', finishedAt: daysAgo(1) }),
    run({ runId: 'd', state: 'Running', startedAt: daysAgo(20) }),
    run({ runId: 'e', tool: 'openfoam', state: 'Succeeded', finishedAt: daysAgo(30) }),
  ];
  const ids = (list: RunSummary[]) => list.map((r) => r.runId);

  it('takes only finished runs, then narrows by age, tool and --failed', () => {
    expect(ids(selectFinishedRuns(runs, { olderThanMs: 0 }, now))).toEqual(['a', 'b', 'c', 'e']);
    expect(ids(selectFinishedRuns(runs, { olderThanMs: 7 * 24 * 3600_000 }, now))).toEqual(['a', 'b', 'e']);
    expect(ids(selectFinishedRuns(runs, { olderThanMs: 0, tool: 'lammps', failed: true }, now))).toEqual(['b', 'c']);
  });

  it('purges only a run directory under data/<tool>/runs/ on this machine', () => {
    const data = '/srv/project/data';
    expect(purgeableRunDir(run({ outputDir: join(data, 'lammps/runs/20261125-120000-aaaa') }), data)).toBe(
      join(data, 'lammps/runs/20261125-120000-aaaa'),
    );
    expect(purgeableRunDir(run({ outputDir: join(data, 'lammps/inputs') }), data)).toBeUndefined();
    expect(purgeableRunDir(run({ outputDir: join(data, '../elsewhere/runs/x') }), data)).toBeUndefined();
    expect(purgeableRunDir(run({ outputDir: '/srv/project/data-other/lammps/runs/x' }), data)).toBeUndefined();
    expect(purgeableRunDir(run({ outputDir: '/data/lammps/runs/x', outputLocal: false }), data)).toBeUndefined();
  });

  it('`jobs` lists running runs and those finished in the last 7 days, all with --all', () => {
    expect(ids(recentRuns(runs, {}, now))).toEqual(['c', 'd']);
    expect(ids(recentRuns(runs, { all: true, tool: 'openfoam' }, now))).toEqual(['e']);
  });
});
