/**
 * The command-line surface. Only commander is loaded at start-up: each command's module
 * (and everything heavy it needs, like @kubernetes/client-node) is imported when it runs.
 */
import { Command, Option } from 'commander';
import type { AppContext, GlobalOptions } from './app-context.js';

export type CommandRunner = (
  options: GlobalOptions,
  body: (app: AppContext) => Promise<number | void>,
) => Promise<void>;

const outputOption = (formats: string[], fallback: string) =>
  new Option('-o, --output <format>', 'output format').choices(formats).default(fallback);

export function buildProgram(version: string, runCommand: CommandRunner): Command {
  const program = new Command('keystone')
    .description('Bring up and operate the keystone k3d cluster for FEniCSx, LAMMPS and OpenFOAM simulations.')
    .version(version, '-V, --version', 'print the keystone version')
    .option('--context <name>', 'kubeconfig context to act on (default: k3d-<cluster name in the config>; never the current-context)')
    .option('--kubeconfig <file>', 'kubeconfig file to use (default: $KUBECONFIG or ~/.kube/config)')
    .option('--config <file>', 'k3d cluster config (default: k8s/configs/k3d-cluster-config.yaml in the project)')
    .option('--timeout <duration>', 'give up waiting after this long, e.g. 90s, 5m (default depends on the command)')
    .option('-v, --verbose', 'print each external command and API request, and stack traces on errors')
    .option('-q, --quiet', 'print errors and requested data only')
    // Each command's --help also lists --context, --timeout and the other global options.
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run `keystone --help` for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ keystone setup              # create the cluster (idempotent)
  $ keystone status -o json     # cluster and node state for scripts
  $ keystone doctor             # check Docker, kubectl, k3d, ports, kubeconfig`,
    );

  const offline = 'it prints a script and talks to no cluster';
  const examples = (cmd: Command, lines: string[]) =>
    cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
  /**
   * An action, and the inherited options (global ones, or a parent's like `jobs --tool`) the
   * command has no use for: its --help lists them, so typing one is refused (exit 2), never ignored.
   */
  const action =
    (body: (app: AppContext, args: unknown[], opts: Record<string, unknown>) => Promise<number | void>, refuse: Refusals = {}) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      refuseInherited(command, refuse);
      const opts = command.opts();
      await runCommand(command.optsWithGlobals() as GlobalOptions, (app) => body(app, args.slice(0, -2), opts));
    };
  /** The action of a command whose module (and what it needs) is loaded only when it runs. */
  const lazy =
    <M>(load: () => Promise<M>, body: (m: M, app: AppContext, args: unknown[], opts: Record<string, unknown>) => Promise<number | void>, refuse?: Refusals) =>
      action(async (app, args, opts) => body(await load(), app, args, opts), refuse);

  examples(
    program
      .command('setup')
      .description('create or start the k3d cluster, import the images, apply k8s/manifests, wait until the stack is up')
      .option('--dry-run', 'print what would be done (each k3d call and object) and change nothing; uses the API server\'s dry run when the cluster runs')
      .option('--force-conflicts', 'take over manifest fields that another tool (kubectl edit/apply) now owns')
      .action(lazy(() => import('./commands/setup.js'), async (m, app) => {
        await m.setup(app);
      })),
    ['keystone setup', 'keystone setup --dry-run --verbose'],
  );

  examples(
    program
      .command('apply')
      .description('apply k8s/manifests by server-side apply (the stack part of setup), to the keystone cluster or --context')
      .option('--dry-run', 'validate with the API server\'s dry run; change nothing')
      .option('--force-conflicts', 'take over manifest fields that another tool now owns')
      .option('--wait', 'then wait until every deployment is ready and the volume bound')
      .action(lazy(() => import('./commands/apply.js'), (m, app, _args, opts) => m.apply(app, { wait: Boolean(opts.wait) }))),
    ['keystone apply --wait', 'keystone apply --dry-run --context lab'],
  );

  examples(
    program
      .command('import-images')
      .argument('[image...]', 'images (or compose service names) to import; default: all in images/compose.yaml')
      .description('build missing images (images/compose.yaml) and import them into the k3d cluster in one k3d call')
      .option('--build', 'rebuild the images even if Docker already has them')
      .option('--force', 'import even the images the cluster already has')
      .option('--dry-run', 'print the docker and k3d calls instead of running them')
      .action(lazy(() => import('./commands/import-images.js'), (m, app, args, opts) => m.importImagesCommand(app, (args[0] as string[] | undefined) ?? [], { build: Boolean(opts.build), force: Boolean(opts.force) }))),
    ['keystone import-images', 'keystone import-images keystone-celery-worker:0.1.0 --build'],
  );

  // start, stop and delete: one k3d call each (src/commands/lifecycle.ts).
  const lifecycleCommands = [
    ['start', 'start the stopped k3d cluster and wait for its nodes', ['keystone start', 'keystone start --timeout 5m']],
    ['stop', 'stop the k3d cluster (its state and volumes are kept)', ['keystone stop', 'keystone stop --verbose']],
    ['delete', 'delete the k3d cluster and its volumes (./data on the host is kept)', ['keystone delete', 'keystone delete && keystone setup   # recreate from the config']],
  ] as const;
  for (const [name, description, lines] of lifecycleCommands) {
    const command = program.command(name).description(description).option('--dry-run', 'print the k3d call instead of running it');
    examples(command.action(lazy(() => import('./commands/lifecycle.js'), (m, app) => m.lifecycle[name](app))), [...lines]);
  }

  /** A command that prints one report in the format -o chooses (the first format is the default). */
  const report = (name: string, description: string, formats: [string, ...string[]], run: (app: AppContext, output: string) => Promise<number | void>, lines: string[]) =>
    examples(
      program
        .command(name)
        .description(description)
        .addOption(outputOption(formats, formats[0]))
        .action(action(async (app, _args, opts) => run(app, opts.output as string))),
      lines,
    );

  report('status', 'show the cluster (exists, running, servers/agents) and its nodes', ['table', 'json', 'yaml'], async (app, output) => {
    await (await import('./commands/status.js')).status(app, output);
  }, ['keystone status', 'keystone status -o json | jq .healthy']);

  report('pods', 'list the stack\'s pods: phase, ready, restarts, age, node, and why an unhealthy pod is unhealthy', ['table', 'wide', 'json', 'yaml'], async (app, output) => {
    await (await import('./commands/pods.js')).pods(app, output);
  }, ['keystone pods', 'keystone pods -o wide']);

  // keystone events (issue 17): the namespace's events as kubectl events shows them.
  examples(
    program
      .command('events')
      .description('the stack\'s events, newest last, repeats counted ("x5 over 10m"), warnings highlighted; -f follows')
      .addOption(outputOption(['table', 'json'], 'table'))
      .option('-f, --follow', 'keep watching and print events as they come (Ctrl-C stops)')
      .option('--for <name>', 'only events about this object (name or kind/name, e.g. pod/redis-0)')
      .action(lazy(() => import('./commands/events.js'), (m, app, _args, opts) => m.events(app, { output: opts.output as string, follow: Boolean(opts.follow), for: opts.for as string | undefined }))),
    ['keystone events', 'keystone events -f --for pod/lammps-20261125-214700-a3f9-0-x7k2q'],
  );

  // keystone describe (issue 17): a deployment, pod or run on one screen, as kubectl describe.
  examples(
    program
      .command('describe')
      .argument('<name>', 'a deployment (celery-worker), a pod (full or short name), or a run id')
      .description('conditions, containers (image, state, last termination, restarts), mounts and recent events of a deployment, pod or run')
      .addOption(outputOption(['table', 'json'], 'table'))
      .action(
        action(async (app, args, opts) => {
          const { describeCommand } = await import('./commands/describe.js');
          return describeCommand(app, args[0] as string, opts.output as string);
        }),
      ),
    ['keystone describe celery-worker', 'keystone describe 20261125-214700-a3f9 -o json'],
  );

  // keystone top (issue 17): CPU and memory from the metrics API, as kubectl top.
  examples(
    program
      .command('top')
      .description('CPU and memory per node and per pod from the metrics API (metrics-server), as `kubectl top` shows them')
      .addOption(outputOption(['table', 'json'], 'table'))
      .action(
        action(async (app, _args, opts) => {
          const { top } = await import('./commands/top.js');
          return top(app, opts.output as string);
        }),
      ),
    ['keystone top', 'keystone top -o json | jq \'.pods[] | select(.memoryBytes > 1e9)\''],
  );

  examples(
    program
      .command('logs')
      .argument('<name>', 'a service (redis, celery-worker), a simulation tool (fenicsx, lammps, openfoam), or a pod')
      .description('print the logs of a service\'s pods (interleaved, prefixed with the pod) or of one pod')
      .option('-f, --follow', 'keep streaming, and pick up pods that start later; Ctrl-C stops')
      .option('--since <duration>', 'only lines newer than this, e.g. 10m')
      .option('--tail <lines>', 'only the last N lines of each pod')
      .option('--timestamps', 'prefix each line with its timestamp')
      .option('--previous', 'the previous (crashed) container\'s logs')
      .option('-c, --container <name>', 'only this container')
      .action(lazy(() => import('./commands/logs.js'), (m, app, args, opts) => m.logs(app, args[0] as string, opts))),
    ['keystone logs celery-worker --tail 50', 'keystone logs redis -f --since 10m'],
  );

  examples(
    program
      .command('shell')
      .argument('<name>', 'a pod, or a service (a ready pod of it is chosen)')
      .argument('[command...]', 'run this instead of a shell (after --)')
      .description('open a shell (bash, else sh) in a pod through kubectl exec, or run a command there')
      .option('-c, --container <name>', 'the container to enter')
      .action(
        lazy(() => import('./commands/shell.js'), (m, app, args, opts) =>
          m.shell(app, args[0] as string, (args[1] as string[] | undefined) ?? [], { container: opts.container as string | undefined, stdinIsTTY: app.stdinIsTTY }),
        ),
      ),
    ['keystone shell redis', 'keystone shell celery-worker -- celery -A keystone_worker.app inspect ping'],
  );

  examples(
    program
      .command('scale')
      .argument('<deployment>', 'deployment to scale, e.g. celery-worker')
      .argument('<replicas>', 'number of replicas, 0 to 100')
      .description('set a deployment\'s replica count and wait until the pods are ready')
      .action(lazy(() => import('./commands/scale-restart.js'), (m, app, args) => m.scale(app, args[0] as string, args[1] as string))),
    ['keystone scale celery-worker 4', 'keystone scale celery-worker 0   # stop the workers'],
  );

  examples(
    program
      .command('restart')
      .argument('<deployment>', 'deployment to restart, or "all"')
      .description('restart a deployment\'s pods as `kubectl rollout restart` does, and wait for the new ones')
      .action(lazy(() => import('./commands/scale-restart.js'), (m, app, args) => m.restart(app, args[0] as string))),
    ['keystone restart celery-worker', 'keystone restart all'],
  );

  // keystone rollback (issue 17): kubectl rollout history / undo for the stack's deployments.
  examples(
    program
      .command('rollback')
      .argument('<deployment>', 'deployment to roll back, e.g. celery-worker')
      .description('roll a deployment back to its previous (or a chosen) revision as `kubectl rollout undo` does, and wait for the pods; --list shows the revisions')
      .option('--to-revision <n>', 'the revision to go back to (default: the one before the current)')
      .option('--list', 'list the revisions instead, as `kubectl rollout history` does')
      .addOption(outputOption(['table', 'json'], 'table'))
      .action(
        action(async (app, args, opts) => {
          const { rollback } = await import('./commands/rollback.js');
          return rollback(app, args[0] as string, { list: Boolean(opts.list), toRevision: opts.toRevision as string | undefined, output: opts.output as string });
        }),
      ),
    ['keystone rollback celery-worker --list', 'keystone rollback celery-worker', 'keystone rollback celery-worker --to-revision 1'],
  );

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  examples(
    program
      .command('run-simulation')
      .argument('<tool>', 'a simulation profile: fenicsx, lammps, openfoam (k8s/simulations/profiles.yaml)')
      .argument('<input>', 'input file (or OpenFOAM case directory), by name in data/<tool>/ or as a path inside data/')
      .argument('[args...]', 'extra arguments for the simulation program (after --)')
      .description('run a simulation as a Kubernetes Job from the tool\'s template, follow it, exit with its exit code')
      .option('-d, --detach', 'submit, print the run id, and return')
      .option('--cancel-on-interrupt', 'on Ctrl-C, cancel the run instead of detaching from it')
      .option('--retries <n>', 'rerun a failed simulation up to n times (default 0)')
      .option('--cpus <amount>', 'CPU request and limit, e.g. 2 or 500m (0.1 to 16 cores); with --ranks, per rank (default 1)')
      .option('-n, --ranks <N>', 'run under MPI with N ranks in one pod (the pod asks for N × --cpus)')
      .option('--ntasks <N>', 'same as --ranks (sbatch\'s name)')
      .option('--nodes <K>', 'spread the ranks over K nodes (needs the Kubeflow MPI Operator)')
      .option('--memory <amount>', 'memory request and limit, e.g. 8Gi (64Mi to 64Gi)')
      .option('--env <KEY=VALUE>', 'environment variable for the run (repeatable)', collect)
      .option('--image <image>', 'run with this image instead of the template\'s')
      .option('--sweep <NAME=v1,v2,...>', 'parameter sweep: one run per combination, values in $NAME (repeatable)', collect)
      .option('--parallel <n>', 'with --sweep: at most n runs at once')
      .option('--progress <mode>', 'progress from the code\'s output: auto (a bar on a terminal, a line per 10% otherwise), bar, plain, json (one JSON object per line on stderr), none')
      // --timeout is a global option; for a run it is the run's time limit.
      .action(
        lazy(() => import('./commands/run-simulation.js'), (m, app, args, opts) =>
          m.runSimulation(app, args[0] as string, args[1] as string, (args[2] as string[] | undefined) ?? [], { ...opts, timeout: app.options.timeout }),
        ),
      ),
    ['keystone run-simulation lammps in.lj', 'keystone run-simulation fenicsx poisson.py --sweep N=16,32,64 --parallel 2', 'keystone run-simulation openfoam cavity --ranks 4', 'keystone run-simulation openfoam cavity --timeout 2h   # --timeout: the run\'s time limit (activeDeadlineSeconds)'],
  );

  const jobs = program
    .command('jobs')
    .description('list simulation runs: tool, state, start, duration, exit code, output directory (newest first)')
    .addOption(outputOption(['table', 'json', 'yaml'], 'table'))
    .option('--tool <tool>', 'only runs of this tool (jobs, jobs clean)')
    .option('--all', 'include runs that finished more than 7 days ago')
    // `jobs bogus` is an unknown subcommand, not "too many arguments" (checked in the action).
    .allowExcessArguments(true)
    .action(async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      if (command.args.length) unknownSubcommand(command);
      await lazy(() => import('./commands/jobs.js'), async (m, app, _args, opts) => {
        await m.jobsList(app, { output: opts.output as string, tool: opts.tool as string | undefined, all: Boolean(opts.all) });
      })(...args);
    });
  const notForRun = { output: 'it prints the run\'s own output as it is', tool: 'it acts on the one run named', all: 'it acts on the one run named' };
  examples(jobs, ['keystone jobs', 'keystone jobs --tool lammps -o json']);
  examples(
    jobs
      .command('logs')
      .argument('<run-id>', 'the run (see `keystone jobs`)')
      .description('print a run\'s output; with -f follow it until it ends and exit with its exit code')
      .option('-f, --follow', 're-attach to a running run')
      .action(lazy(() => import('./commands/jobs.js'), (m, app, args, opts) => m.jobsLogs(app, args[0] as string, Boolean(opts.follow)), notForRun)),
    ['keystone jobs logs 20261125-214700-a3f9', 'keystone jobs logs 20261125-214700-a3f9 -f'],
  );
  examples(
    jobs
      .command('cancel')
      .argument('<run-id>', 'the run to stop')
      .description('stop a run: delete its Job and pods (its outputs are kept)')
      .action(lazy(() => import('./commands/jobs.js'), (m, app, args) => m.jobsCancel(app, args[0] as string), notForRun)),
    ['keystone jobs cancel 20261125-214700-a3f9', 'keystone jobs cancel $(keystone run-simulation lammps in.lj -d)'],
  );
  examples(
    jobs
      .command('clean')
      .description('delete finished runs\' Jobs; outputs are removed only with --purge-outputs')
      .option('--older-than <duration>', 'only runs that finished longer ago than this, e.g. 7d')
      .option('--failed', 'only failed runs')
      .option('--purge-outputs', 'also delete their output directories under data/<tool>/runs/')
      .option('--dry-run', 'list the runs (and output directories) it would delete, and delete nothing')
      .action(
        lazy(
          () => import('./commands/jobs.js'),
          (m, app, _args, opts) => {
            const tool = (opts as { tool?: string }).tool ?? (jobs.opts().tool as string | undefined);
            return m.jobsClean(app, { olderThan: opts.olderThan as string | undefined, failed: Boolean(opts.failed), purgeOutputs: Boolean(opts.purgeOutputs), tool, dryRun: Boolean(opts.dryRun) });
          },
          { output: 'it prints what it deletes, as text', all: 'it considers every finished run whatever its age; --older-than limits that' },
        ),
      ),
    ['keystone jobs clean --older-than 7d', 'keystone jobs clean --tool lammps --failed --purge-outputs --dry-run'],
  );
  // keystone jobs plot (issue 17): a run's residuals or thermo as a picture or a terminal chart.
  examples(
    jobs
      .command('plot')
      .argument('<run-id>', 'the run (see `keystone jobs`)')
      .description('plot a run\'s log: OpenFOAM initial residuals against time, LAMMPS thermo against step; a sweep: one line per index')
      .option('--out <file>', 'write a picture (.svg or .png) instead of a chart in the terminal')
      .option('--series <names>', 'only these columns or fields, comma-separated (a sweep plots the first unless given)')
      .action(lazy(() => import('./commands/jobs-plot.js'), (m, app, args, opts) => m.jobsPlot(app, args[0] as string, { out: opts.out as string | undefined, series: opts.series as string | undefined }))),
    ['keystone jobs plot 20261125-214700-a3f9', 'keystone jobs plot 20261125-214700-a3f9 --out thermo.png --series Temp,TotEng'],
  );

  report('doctor', 'check Docker, kubectl, k3d, host ports, ./data and the kube context; exit 1 if any check fails', ['text', 'json', 'yaml'], async (app, output) => (await import('./commands/doctor.js')).doctor(app, output), [
    'keystone doctor',
    'keystone doctor -o json',
  ]);

  examples(
    program
      .command('completion')
      .argument('<shell>', 'bash, zsh or fish')
      .description('print a shell completion script (commands, options, tools, and live deployment, pod and run names)')
      .action(lazy(() => import('./commands/completion.js'), async (m, app, args) => m.completionCommand(app, args[0] as string), { context: offline, kubeconfig: offline, config: offline, timeout: offline })),
    ['keystone completion bash > ~/.local/share/bash-completion/completions/keystone', 'keystone completion zsh > "${fpath[1]}/_keystone"'],
  );

  // Called by the completion scripts: candidates for the words typed so far, one per line.
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .action(async (words: string[] | undefined) => {
      const typed = words ?? [];
      const valueOf = (flag: string) => {
        const i = typed.indexOf(flag);
        return i >= 0 && i + 1 < typed.length - 1 ? typed[i + 1] : undefined;
      };
      await runCommand({ context: valueOf('--context'), kubeconfig: valueOf('--kubeconfig'), quiet: true }, async (app) => {
        const { completionOutput } = await import('./completion/complete.js');
        app.ui.data(await completionOutput(app, program, typed.length ? typed : ['']));
      });
    });

  return program;
}

/** Inherited option (its attribute name, e.g. "output") → why this command does not use it. */
type Refusals = Record<string, string>;

/** Exit 2 if the user typed an inherited option the command would otherwise silently ignore. */
function refuseInherited(command: Command, refuse: Refusals): void {
  for (let owner = command.parent; owner; owner = owner.parent) {
    for (const option of owner.options) {
      const key = option.attributeName();
      const why = refuse[key];
      if (why === undefined || owner.getOptionValueSource(key) !== 'cli') continue;
      const path: string[] = [];
      for (let c: Command | null = command; c?.parent; c = c.parent) path.unshift(c.name());
      command.error(`error: ${option.long ?? option.flags} does not apply to \`keystone ${path.join(' ')}\`: ${why}`, { exitCode: 2, code: 'keystone.inapplicableOption' });
    }
  }
}

/** `keystone jobs bogus`: the words commander would call "too many arguments" name an unknown subcommand. */
function unknownSubcommand(command: Command): never {
  const typed = command.args[0]!;
  const names = command.commands.map((c) => c.name());
  const close = names.filter((n) => editDistance(n, typed) <= Math.max(1, Math.floor(n.length / 3)) || n.startsWith(typed));
  const hint = close.length ? `\n(Did you mean ${close.join(' or ')}?)` : `\n(${command.name()} has: ${names.join(', ')})`;
  command.error(`error: unknown command '${command.name()} ${typed}'${hint}`, { exitCode: 2, code: 'commander.unknownCommand' });
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}
