/** `keystone events [-f] [--for NAME] [-o table|json]`: what `kubectl events -n keystone` shows. */
import type { AppContext } from '../app-context.js';
import { loadYaml } from '../yaml-module.js';
import { ExitCode } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { stackNamespace } from '../vocabulary.js';
import {
  eventMatches,
  lastSeenText,
  oneLine,
  sortEvents,
  summarizeEvent,
  type EventObject,
  type EventSummary,
} from '../operate/events.js';
import { renderTable } from '../ui/table.js';
import { splitKindName } from '../operate/names.js';

const headers = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];

export async function events(app: AppContext, o: { output: string; follow: boolean; for?: string }): Promise<number> {
  if (o.for !== undefined) splitKindName(o.for, '--for');
  const client = await app.client();
  const path = `/api/v1/namespaces/${stackNamespace}/events`;
  const list = await client.list<EventObject>(path);
  const wanted = (e: EventSummary) => o.for === undefined || eventMatches(e, o.for);
  const shown = sortEvents(list.items.map(summarizeEvent).filter(wanted));
  const json = o.output === 'json';
  const yaml = o.output === 'yaml';
  const row = (e: EventSummary) => {
    const c = app.ui.color;
    const warn = e.type === 'Warning';
    return [
      lastSeenText(e, Date.now()),
      warn ? c.yellow(e.type) : e.type,
      warn ? c.yellow(e.reason) : e.reason,
      `${e.object.kind}/${e.object.name}`,
      oneLine(e.message),
    ];
  };
  // With -f, one document per change after the list: a JSON one per line, or YAML documents after `---`.
  const { stringify } = yaml ? await loadYaml() : { stringify: undefined };
  if (json) {
    // With -f, one document per line (the list, then each change), so a script can read a stream.
    if (o.follow) app.ui.data(JSON.stringify(shown));
    else app.ui.json(shown);
  } else if (yaml) {
    app.ui.data(o.follow ? `---\n${stringify!(shown)}` : stringify!(shown));
  } else if (shown.length === 0) {
    app.ui.info(
      `No events in namespace ${stackNamespace}${o.for ? ` for ${o.for}` : ''} (the API server keeps them for 1 hour by default).`,
    );
  } else {
    app.ui.data(renderTable(headers, shown.map(row), app.ui.columns));
  }
  if (!o.follow) return ExitCode.ok;

  app.ui.announceInterrupt = false;
  await followEvents(client, path, list.metadata.resourceVersion, app.signal, (e) => {
    if (!wanted(e)) return;
    if (json) app.ui.data(JSON.stringify(e));
    else if (yaml) app.ui.data(`---\n${stringify!(e)}`);
    else
      app.ui.data(
        renderTable(headers, [row(e)], app.ui.columns)
          .split('\n')
          .slice(1)
          .join('\n'),
      );
  });
  return ExitCode.interrupted;
}

/** Watches from the list's resourceVersion; an Event updated by its recorder (count+1) is shown again. */
async function followEvents(
  client: KubeClient,
  path: string,
  resourceVersion: string | undefined,
  signal: AbortSignal,
  show: (e: EventSummary) => void,
): Promise<void> {
  let rv = resourceVersion;
  let expired = false;
  while (!signal.aborted) {
    const handle = await client.watch<EventObject>(
      path,
      { resourceVersion: rv, allowWatchBookmarks: true },
      (ev) => {
        if (ev.type === 'ERROR') {
          expired = true; // 410 Gone: the revision was compacted
          return;
        }
        rv = ev.object.metadata?.resourceVersion ?? rv;
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') show(summarizeEvent(ev.object));
      },
      signal,
    );
    await handle.done;
    // The server ends watches after a while: go on from where it was; after a 410, from now
    // (a fresh list's revision, without printing what was shown already).
    if (expired && !signal.aborted) {
      expired = false;
      rv = (await client.list(path)).metadata.resourceVersion;
    }
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 500));
  }
}
