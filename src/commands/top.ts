/** `keystone top [-o json]`: CPU and memory per node and per pod, as `kubectl top` shows them. */
import type { AppContext } from '../app-context.js';
import { ExitCode } from '../errors.js';
import { readTop } from '../operate/metrics.js';
import { stackNamespace } from '../vocabulary.js';
import { renderTable } from '../ui/table.js';

const mi = (bytes: number) => `${Math.round(bytes / 1024 ** 2)}Mi`;
const pct = (p: number | undefined) => (p === undefined ? '<unknown>' : `${p}%`);

export async function top(app: AppContext, output: string): Promise<number> {
  const client = await app.client();
  const report = await readTop(client, stackNamespace);
  if (output === 'json' || output === 'yaml') {
    await app.ui.document(report, output);
    return ExitCode.ok;
  }
  app.ui.data(
    renderTable(
      ['NODE', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)'],
      report.nodes.map((n) => [
        n.name,
        `${n.cpuMillicores}m`,
        pct(n.cpuPercent),
        mi(n.memoryBytes),
        pct(n.memoryPercent),
      ]),
      app.ui.columns,
    ),
  );
  app.ui.data('');
  if (report.pods.length === 0)
    app.ui.info(
      `No pod metrics in namespace ${stackNamespace} yet (metrics-server reports a pod about a minute after it starts).`,
    );
  else
    app.ui.data(
      renderTable(
        ['POD', 'CPU(cores)', 'MEMORY(bytes)'],
        report.pods.map((p) => [p.name, `${p.cpuMillicores}m`, mi(p.memoryBytes)]),
        app.ui.columns,
      ),
    );
  return ExitCode.ok;
}
