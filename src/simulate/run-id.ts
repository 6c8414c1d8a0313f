/** Run ids: sortable by time, short, and valid inside Kubernetes names ("20261125-214700-a3f9"). */
import { randomBytes } from 'node:crypto';

export function newRunId(now = new Date(), random = randomBytes(2).toString('hex')): string {
  const iso = now.toISOString(); // 2026-11-25T21:47:00.000Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${random}`;
}

export const runIdPattern = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export function jobName(tool: string, runId: string): string {
  return `${tool}-${runId}`;
}
