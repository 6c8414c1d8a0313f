/** `keystone shell <pod|service> [-c container] [-- command...]`: kubectl exec with the terminal passed through. */
import type { AppContext } from '../app-context.js';
import { KeystoneError } from '../errors.js';
import { requireObjectName } from '../operate/names.js';
import { resolvePodSource } from '../operate/stack-objects.js';
import { summarizePod } from '../operate/pod-summary.js';
import { stackNamespace } from '../vocabulary.js';

/** bash when the image has it, sh otherwise: the check runs inside the container, not on this host. */
export const shellFallback = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi'];

export async function shell(
  app: AppContext,
  name: string,
  command: string[],
  options: { container?: string; stdinIsTTY: boolean },
): Promise<number> {
  requireObjectName(name, 'pod or service');
  app.boundByTimeout(); // finding the pod; the shell session itself has no time limit
  if (options.container !== undefined) requireObjectName(options.container, 'container');
  const target = await app.target();
  const client = await app.client();
  // The profiles' validation (zod and the yaml library, ~750 KB of the bundle) loads only when the
  // name is not a deployment, the one case that needs the tool names.
  const { source, pods } = await resolvePodSource(client, name, async () =>
    (await import('../runs/request/profiles.js')).toolNames(app.paths.profiles, app.cwd),
  );
  const running = pods.filter((p) => p.status?.phase === 'Running');
  const ready = running.filter((p) => summarizePod(p).healthy);
  const pod = ready[0] ?? running[0];
  if (!pod) {
    throw new KeystoneError(`no running pod for ${source.kind} ${name}`, { hint: '`keystone pods` shows their state' });
  }
  const args = [
    ...(target.kubeconfig.explicit ? ['--kubeconfig', target.kubeconfig.explicit] : []),
    '--context',
    target.context,
    'exec',
    options.stdinIsTTY ? '-it' : '-i',
    '-n',
    pod.metadata?.namespace ?? stackNamespace,
    pod.metadata?.name ?? '',
    ...(options.container ? ['-c', options.container] : []),
    '--',
    ...(command.length > 0 ? command : shellFallback),
  ];
  app.ui.debug(`shell into pod ${pod.metadata?.name}`);
  const result = await app.runner.run('kubectl', args, { stdio: 'inherit', reject: false, timeoutMs: 0 });
  return result.exitCode;
}
