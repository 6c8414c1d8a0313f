/**
 * The namespace's core/v1 Events as `kubectl events` shows them (kubernetes/kubectl
 * pkg/cmd/events/event_printer.go): newest last, "LAST SEEN (xN over FIRST)" for an Event the
 * recorders deduplicated (count > 1, or series.count for events.k8s.io-style series), the object
 * as Kind/name.
 */
import { formatAge } from './pod-summary.js';
import { byText } from '../text-order.js';

export interface EventObject {
  [key: string]: unknown;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; creationTimestamp?: string };
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
}

export interface EventSummary {
  type: string;
  reason: string;
  object: { kind: string; name: string };
  message: string;
  count: number;
  firstSeen?: string;
  lastSeen?: string;
  source?: string;
}

export function summarizeEvent(e: EventObject): EventSummary {
  const first = e.eventTime || e.firstTimestamp || e.metadata?.creationTimestamp || undefined;
  const last = e.series?.lastObservedTime || e.lastTimestamp || first;
  const count = e.series?.count ?? e.count ?? 1;
  const source = e.source?.component || e.reportingComponent || undefined;
  return {
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    object: { kind: e.involvedObject?.kind ?? '', name: e.involvedObject?.name ?? '' },
    message: (e.message ?? '').trim(),
    count,
    ...(first ? { firstSeen: first } : {}),
    ...(last ? { lastSeen: last } : {}),
    ...(source ? { source } : {}),
  };
}

/** Oldest first by last sighting, as kubectl sorts them (newest at the bottom, near the prompt). */
export function sortEvents(events: EventSummary[]): EventSummary[] {
  return [...events].sort((a, b) => byText(a.lastSeen ?? '', b.lastSeen ?? ''));
}

/** "2m (x5 over 10m)" or "2m". */
export function lastSeenText(e: EventSummary, now: number): string {
  const ago = (t?: string) => (t ? formatAge(Math.max(0, Math.round((now - Date.parse(t)) / 1000))) : '<unknown>');
  return e.count > 1 ? `${ago(e.lastSeen)} (x${e.count} over ${ago(e.firstSeen)})` : ago(e.lastSeen);
}

/** Does the event concern NAME ("name" or "kind/name", kind case-insensitive)? */
export function eventMatches(e: EventSummary, forName: string): boolean {
  const slash = forName.indexOf('/');
  if (slash < 0) return e.object.name === forName;
  return (
    e.object.kind.toLowerCase() === forName.slice(0, slash).toLowerCase() && e.object.name === forName.slice(slash + 1)
  );
}

/** One line: the latest Warning about an object, for status and pods ("BackOff (x5 over 2m): ..."). */
export function latestWarnings(events: EventSummary[]): Map<string, EventSummary> {
  const latest = new Map<string, EventSummary>();
  for (const e of sortEvents(events)) if (e.type === 'Warning') latest.set(`${e.object.kind}/${e.object.name}`, e);
  return latest;
}

export function warningLine(e: EventSummary, now: number): string {
  const ago = e.lastSeen ? formatAge(Math.max(0, Math.round((now - Date.parse(e.lastSeen)) / 1000))) : '?';
  return oneLine(`${e.reason}${e.count > 1 ? ` x${e.count}` : ''}, ${ago} ago: ${e.message}`);
}

/** Control characters (a message is written by any component) and newlines become spaces. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
