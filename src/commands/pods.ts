/** `keystone pods`: the stack's pods with what is wrong with the unhealthy ones. */
import type { AppContext } from '../app-context.js';
import { listPods } from '../operate/stack-objects.js';
import { stackNamespace } from '../vocabulary.js';
import { formatAge, summarizePod, type PodSummary } from '../operate/pod-summary.js';
import { latestWarnings, summarizeEvent, warningLine, type EventObject } from '../operate/events.js';
import { byText } from '../text-order.js';

export async function pods(app: AppContext, output: string): Promise<PodSummary[]> {
  app.boundByTimeout();
  const client = await app.client();
  const now = Date.now();
  const summaries = (await listPods(client)).map((p) => summarizePod(p, now)).sort((a, b) => byText(a.name, b.name));
  // The latest Warning event about each unhealthy pod: why, in the cluster's own words.
  if (summaries.some((s) => !s.healthy)) {
    const events = (await client.list<EventObject>(`/api/v1/namespaces/${stackNamespace}/events`)).items.map(
      summarizeEvent,
    );
    const latest = latestWarnings(events);
    for (const s of summaries) {
      const w = !s.healthy ? latest.get(`Pod/${s.name}`) : undefined;
      if (w) s.warning = warningLine(w, now);
    }
  }
  if (output === 'json' || output === 'yaml') {
    await app.ui.document(summaries, output);
    return summaries;
  }
  if (summaries.length === 0) {
    app.ui.info(`No pods in namespace ${stackNamespace}.`);
    return summaries;
  }
  const wide = output === 'wide';
  const headers = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'NODE', ...(wide ? ['IP', 'MESSAGE'] : [])];
  const c = app.ui.color;
  const rows = summaries.map((s) => [
    s.name,
    s.ready,
    s.healthy || (s.phase === 'Pending' && s.status === 'ContainerCreating') ? s.status : c.red(s.status),
    String(s.restarts),
    formatAge(s.ageSeconds),
    s.node ?? '<none>',
    ...(wide ? [s.ip ?? '<none>', s.message ?? ''] : []),
  ]);
  const { renderTable } = await import('../ui/table.js'); // only when a table is printed
  app.ui.data(renderTable(headers, rows, app.ui.columns));
  const warned = summaries.filter((s) => s.warning);
  if (warned.length)
    app.ui.data(['', ...warned.map((s) => `${s.name}: ${c.yellow('Warning')} ${s.warning}`)].join('\n'));
  return summaries;
}
