/** `keystone describe <name> [-o json]`: a deployment, pod or run on one screen. */
import type { AppContext } from '../app-context.js';
import { ExitCode, UsageError } from '../errors.js';
import { describe, type Description } from '../operate/describe.js';
import { describeRun } from '../runs/catalog/describe.js';
import { runIdPattern } from '../runs/model.js';
import { lastSeenText, oneLine } from '../operate/events.js';
import { printable, requireLabelName, requireObjectName, splitKindName } from '../operate/names.js';
import { requireRunId } from '../runs/catalog/lookup.js';
import { renderTable } from '../ui/table.js';

/** The kinds `describe KIND/NAME` takes, as kubectl spells them (`pod/x`, `po/x`, `deploy/x`), and `run/ID`. */
const kinds: Record<string, 'Deployment' | 'Pod' | 'Run'> = {
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  pod: 'Pod',
  pods: 'Pod',
  po: 'Pod',
  run: 'Run',
};

export async function describeCommand(app: AppContext, text: string, output: string): Promise<number> {
  // NAME, or KIND/NAME as `events --for` takes it (the kind then says where to look).
  const { kind: typed, name } = splitKindName(text, 'describe');
  const kind = typed === undefined ? undefined : kinds[typed.toLowerCase()];
  if (typed !== undefined && kind === undefined)
    throw new UsageError(
      `describe takes deployment/NAME, pod/NAME or run/ID, not "${printable(typed)}/…"`,
      'or just the NAME: a run id, a deployment or a pod, tried in that order',
    );
  if (kind === 'Run') requireRunId(name);
  else if (kind === 'Deployment') requireLabelName(name, 'deployment');
  else requireObjectName(name, kind === 'Pod' ? 'pod' : 'deployment, pod or run');
  const client = await app.client();
  // NAME is a run id, a deployment, or a pod, tried in that order.
  const d =
    kind === 'Run' || (kind === undefined && runIdPattern.test(name))
      ? await describeRun(client, name)
      : await describe(client, name, undefined, kind);
  if (output === 'json' || output === 'yaml') await app.ui.document(d, output);
  else app.ui.data(render(app, d));
  return ExitCode.ok;
}

function render(app: AppContext, d: Description): string {
  const c = app.ui.color;
  const indent = (text: string) =>
    text
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');
  const table = (headers: string[], rows: string[][]) =>
    indent(renderTable(headers, rows, app.ui.columns === undefined ? undefined : app.ui.columns - 2));
  const out = [`${d.kind} ${d.name}: ${d.healthy ? d.status : c.yellow(d.status)}`];
  out.push(
    'Conditions:',
    d.conditions.length
      ? table(
          ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
          d.conditions.map((x) => [x.type, x.status, x.reason ?? '', oneLine(x.message ?? '')]),
        )
      : '  (none)',
  );
  out.push(
    'Containers:',
    d.containers.length
      ? table(
          ['POD', 'CONTAINER', 'IMAGE', 'STATE', 'READY', 'RESTARTS', 'LAST TERMINATION'],
          d.containers.map((x) => [
            x.pod,
            x.name,
            x.image,
            `${x.state}${x.reason ? ` (${x.reason}${x.exitCode !== undefined ? `, exit ${x.exitCode}` : ''})` : ''}`,
            x.ready ? 'yes' : 'no',
            String(x.restarts),
            x.lastTermination
              ? `${x.lastTermination.reason ?? 'terminated'}${x.lastTermination.exitCode !== undefined ? `, exit ${x.lastTermination.exitCode}` : ''}`
              : '-',
          ]),
        )
      : '  (no pods)',
  );
  out.push(
    'Mounts:',
    d.mounts.length
      ? table(
          ['CONTAINER', 'PATH', 'VOLUME', 'SOURCE'],
          d.mounts.map((m) => [m.container, m.path, m.volume, `${m.source}${m.readOnly ? ', read-only' : ''}`]),
        )
      : '  (none)',
  );
  const now = Date.now();
  out.push(
    'Events:',
    d.events.length
      ? table(
          ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
          d.events.map((e) => [
            lastSeenText(e, now),
            e.type === 'Warning' ? c.yellow(e.type) : e.type,
            e.reason,
            `${e.object.kind}/${e.object.name}`,
            oneLine(e.message),
          ]),
        )
      : '  (none in the last hour)',
  );
  return out.join('\n');
}
