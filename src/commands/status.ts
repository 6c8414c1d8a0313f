/** `keystone status`: the cluster as k3d sees it and its nodes as the API reports them (src/health/). */
import type { AppContext } from '../app-context.js';
import { gatherStatus } from '../health/gather-status.js';
import type { StatusReport } from '../health/status-report.js';

export async function status(app: AppContext, output: string | undefined): Promise<StatusReport> {
  app.boundByTimeout();
  const report = await gatherStatus(app);
  if (output === 'json' || output === 'yaml') await app.ui.document(report, output);
  else {
    // Tables (and the width measuring they load) only when a table is printed, not for -o json.
    const { renderStatus } = await import('../health/status-table.js');
    app.ui.data(renderStatus(report, app.ui.columns));
  }
  return report;
}
