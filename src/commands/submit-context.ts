/** What `run-simulation` and `jobs rerun` hand to submitRun: the narrow context, made from the app's. */
import type { AppContext } from '../app-context.js';
import { readImageRecord, rememberedIn } from '../images/registry-record.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeTarget } from '../kube/target.js';
import type { SubmitContext } from '../runs/submit.js';
import { stackNamespace } from '../vocabulary.js';

export async function submitContextFor(
  app: AppContext,
  client: KubeClient,
  target: KubeTarget,
): Promise<SubmitContext> {
  return {
    client,
    target,
    dataDir: app.paths.dataDir,
    data: app.data(),
    cwd: app.cwd,
    env: app.env,
    signal: app.signal,
    clock: app.clock,
    info: (t) => app.ui.info(t),
    warn: (t) => app.ui.warn(t),
    runner: app.runner,
    keystoneVersion: app.version,
    argv: app.argv,
    remembered: rememberedIn(await readImageRecord(client, stackNamespace)),
  };
}
