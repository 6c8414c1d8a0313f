/**
 * MPI ranks for a run (--ranks N, like sbatch's -n/--ntasks): how much CPU the pod asks for, and
 * whether any node can give it, checked before anything is submitted.
 *
 * CPU per rank: --cpus when given (like sbatch's --cpus-per-task), else one core. An MPI rank
 * busy-polls while it waits for messages, so half a core per rank mostly buys waiting.
 */
import { UsageError } from '../../errors.js';
import { printable } from '../../operate/names.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/objects.js';

export const maxRanks = 1024;
export const defaultRankMillicores = 1000;

export function parseRanks(text: string, flag = '--ranks'): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > maxRanks) {
    throw new UsageError(
      `${flag} "${printable(text)}" must be a whole number from 1 to ${maxRanks}`,
      'the number of MPI ranks (processes) of the run',
    );
  }
  return Number(text);
}

/** --ranks and its sbatch spellings -n/--ntasks: one value, or the same value twice. */
export function ranksFromFlags(ranks: string | undefined, ntasks: string | undefined): number {
  const a = ranks !== undefined ? parseRanks(ranks) : undefined;
  const b = ntasks !== undefined ? parseRanks(ntasks, '--ntasks') : undefined;
  if (a !== undefined && b !== undefined && a !== b)
    throw new UsageError(`--ranks ${a} and --ntasks ${b} disagree`, '--ntasks is another name for --ranks; give one');
  return a ?? b ?? 1;
}

/** "500m" (as parseCpus returns it) or a Kubernetes CPU quantity ("2", "1.5", "1950m") → millicores. */
export function cpuMillicores(quantity: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(quantity);
  if (!m) return undefined;
  return m[2] ? Number(m[1]) : Math.round(Number(m[1]) * 1000);
}

export const formatCpus = (millicores: number): string =>
  millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;

/** The pod's CPU request and limit for `ranks` ranks; undefined keeps the template's (one rank, no --cpus). */
export function podCpus(ranks: number, perRank: string | undefined): string | undefined {
  if (ranks === 1) return perRank;
  return `${ranks * (perRank !== undefined ? cpuMillicores(perRank)! : defaultRankMillicores)}m`;
}

interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: { allocatable?: Record<string, string> };
}

export interface NodeCpu {
  name: string;
  millicores: number;
}

/** Schedulable nodes and their allocatable CPU (status.allocatable.cpu: what pods may request). */
export async function nodeCpus(client: KubeClient): Promise<NodeCpu[] | undefined> {
  let nodes: NodeObject[];
  try {
    nodes = (await client.request<{ items: NodeObject[] }>({ path: '/api/v1/nodes' })).items;
  } catch (err) {
    // Reading nodes is cluster-wide; a user limited to a namespace may not: the scheduler decides then.
    if (err instanceof KubeApiError && err.statusCode === 403) return undefined;
    throw err;
  }
  const cpus = nodes
    .filter((n) => !n.spec?.unschedulable)
    .map((n) => ({ name: n.metadata?.name ?? '?', millicores: cpuMillicores(n.status?.allocatable?.cpu ?? '') }))
    .filter((n): n is NodeCpu => n.millicores !== undefined);
  return cpus.length ? cpus : undefined;
}

/**
 * Refuses (exit 2) `ranks` ranks of `perRankMillicores` each, `perPod` ranks in a pod, when no
 * node has that much allocatable CPU, naming the largest count that fits.
 */
export function checkRanksFit(
  nodes: NodeCpu[],
  o: { ranksPerPod: number; perRankMillicores: number; flag: string; largest: (fits: number) => string },
): void {
  const biggest = nodes.reduce((a, b) => (b.millicores > a.millicores ? b : a));
  const need = o.ranksPerPod * o.perRankMillicores;
  if (need <= biggest.millicores) return;
  const fits = Math.floor(biggest.millicores / o.perRankMillicores);
  const per = formatCpus(o.perRankMillicores);
  throw new UsageError(
    `${o.flag} needs ${formatCpus(need)} CPUs in one pod (${o.ranksPerPod} ranks × ${per}), more than any node can give (the largest, ${biggest.name}, has ${formatCpus(biggest.millicores)} allocatable)`,
    fits >= 1
      ? `the largest that fits: ${o.largest(fits)} (at ${per} CPU per rank; --cpus sets less per rank)`
      : `no node has ${per} CPU for one rank: use less CPU per rank with --cpus`,
  );
}
