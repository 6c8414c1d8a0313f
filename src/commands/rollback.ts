/** `keystone rollback <deployment> [--to-revision N] | --list`: `kubectl rollout undo` / `rollout history`. */
import type { AppContext } from '../app-context.js';
import { ExitCode, UsageError } from '../errors.js';
import { localImageNames } from '../images/images.js';
import { requireLabelName } from '../operate/names.js';
import { listRevisions, parseRevision, rollbackDeployment } from '../operate/revisions.js';
import { waitForDeployments } from '../operate/rollouts.js';
import { runSteps } from '../steps/run-steps.js';
import { renderTable } from '../ui/table.js';

const defaultWaitMs = 5 * 60_000;

export async function rollback(
  app: AppContext,
  name: string,
  o: { list: boolean; toRevision?: string; output: string },
): Promise<number> {
  requireLabelName(name, 'deployment');
  if (o.list && o.toRevision !== undefined)
    throw new UsageError(
      '--list and --to-revision cannot be used together',
      `list with \`keystone rollback ${name} --list\`, then roll back with \`--to-revision N\``,
    );
  if (o.output !== 'table' && !o.list)
    throw new UsageError(`-o ${o.output} goes with --list`, `\`keystone rollback ${name} --list -o ${o.output}\``);
  const toRevision = o.toRevision === undefined ? 0 : parseRevision(o.toRevision);
  const client = await app.client();

  if (o.list) {
    const revisions = await listRevisions(client, name);
    if (o.output === 'json' || o.output === 'yaml') await app.ui.document(revisions, o.output);
    else if (revisions.length === 0) app.ui.info(`No rollout history found for deployment ${name}.`);
    else {
      app.ui.data(
        renderTable(
          ['REVISION', 'REPLICASET', 'IMAGES', 'CHANGE-CAUSE', ''],
          revisions.map((r) => [
            String(r.revision),
            r.replicaSet,
            r.images.join(','),
            r.changeCause ?? '<none>',
            r.current ? '(current)' : '',
          ]),
          app.ui.columns,
        ),
      );
    }
    return ExitCode.ok;
  }

  if (app.options.dryRun) {
    const result = await rollbackDeployment(client, name, toRevision, undefined, { dryRun: true });
    app.ui.info(`${result.rolledBack ? '' : result.reason}; dry run: nothing was changed`);
    return ExitCode.ok;
  }
  await runSteps(
    app.ui,
    [
      {
        title: `roll back ${name}${toRevision ? ` to revision ${toRevision}` : ''}`,
        run: async (progress) => {
          const result = await rollbackDeployment(client, name, toRevision);
          if (!result.rolledBack) return `skipped rollback: ${result.reason}`;
          // The patched object carries the bumped generation the rollout wait must see observed.
          await waitForDeployments(client, [result.deployment], {
            timeoutMs: app.timeoutMs(defaultWaitMs),
            onProgress: (t) => progress.update(t),
            signal: app.signal,
            localImages: await localImageNames(app.paths.composeFile),
          });
          return `${name} rolled back to revision ${result.toRevision}: new pods ready`;
        },
      },
    ],
    app.signal,
  );
  return ExitCode.ok;
}
