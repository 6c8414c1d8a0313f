import { describe, expect, it } from 'vitest';
import { checkRanksFit, cpuMillicores, parseRanks, podCpus, ranksFromFlags } from '../../src/runs/request/ranks.js';

describe('ranks', () => {
  it('parses 1..1024 only', () => {
    expect(parseRanks('1')).toBe(1);
    expect(parseRanks('1024')).toBe(1024);
    for (const bad of ['0', '1025', '-2', '2.0', '', 'x', '0x10'])
      expect(() => parseRanks(bad), bad).toThrow(/must be a whole number from 1 to 1024/);
    expect(ranksFromFlags(undefined, undefined)).toBe(1);
    expect(ranksFromFlags('4', '4')).toBe(4);
    expect(() => ranksFromFlags('4', '2')).toThrow(/disagree/);
  });

  it('reads Kubernetes CPU quantities as millicores', () => {
    expect(cpuMillicores('4')).toBe(4000);
    expect(cpuMillicores('1950m')).toBe(1950);
    expect(cpuMillicores('2.5')).toBe(2500);
    expect(cpuMillicores('lots')).toBeUndefined();
  });

  it('the pod asks for N × the per-rank CPU (1 core unless --cpus)', () => {
    expect(podCpus(1, undefined)).toBeUndefined();
    expect(podCpus(1, '1500m')).toBe('1500m');
    expect(podCpus(4, undefined)).toBe('4000m');
    expect(podCpus(4, '250m')).toBe('1000m');
  });

  it('refuses what no node can give, naming the largest count that fits', () => {
    const nodes = [
      { name: 'a', millicores: 1950 },
      { name: 'b', millicores: 3900 },
    ];
    const o = { perRankMillicores: 1000, flag: '--ranks 4', largest: (n: number) => `--ranks ${n}` };
    expect(() => checkRanksFit(nodes, { ...o, ranksPerPod: 3 })).not.toThrow();
    expect(() => checkRanksFit(nodes, { ...o, ranksPerPod: 4 })).toThrow(
      expect.objectContaining({ exitCode: 2, hint: expect.stringContaining('the largest that fits: --ranks 3') }),
    );
    expect(() => checkRanksFit([{ name: 'a', millicores: 500 }], { ...o, ranksPerPod: 1 })).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('no node has 1 CPU for one rank') }),
    );
  });
});
