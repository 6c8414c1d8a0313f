/**
 * The command-line surface: the global options and the command table. Each command is data
 * (src/command-table.ts registers it into commander); its module, and everything heavy it needs
 * like @kubernetes/client-node, is imported only when it runs, so start-up loads commander alone.
 */
import { Command } from 'commander';
import type { AppContext } from './app-context.js';
import {
  acceptedHelp,
  argument,
  command,
  dryRun,
  examplesText,
  option,
  output,
  register,
  repeatable,
  type CommandRunner,
  type Refusals,
  type RegisteredSpec,
} from './command-table.js';

export type { CommandRunner } from './command-table.js';

// Options several commands share, declared once.
const forceConflicts = (description: string) => option('--force-conflicts', description);
const follow = (description: string) => option('-f, --follow', description);
const container = (description: string) => option('-c, --container <name>', description);
const jobsTool = option('--tool <tool>', 'only runs of this tool (jobs, jobs clean)');
const jobsAll = option('--all', 'include runs that finished more than 7 days ago');
const jobsOrphans = option(
  '--orphans',
  'run directories under data/ whose run is gone (cancelled, or cleaned without --purge-outputs): jobs lists them, jobs clean removes them',
);

// Inherited options some commands refuse, declared once.
const offline = 'it prints a script and talks to no cluster';
const refuseOffline: Refusals = { context: offline, kubeconfig: offline, config: offline, timeout: offline };
// `jobs --tool/--all` choose among runs; a subcommand given one run id has no use for them.
const oneRun: Refusals = {
  tool: 'it acts on the one run named',
  all: 'it acts on the one run named',
  orphans: 'it acts on the one run named',
};
// -o says why in the command's own words: what it prints instead of a document.
const notForRun: Refusals = { output: "it prints the run's own output as it is", ...oneRun };

/** start, stop and delete: one k3d call each (src/commands/lifecycle.ts). */
const yes = option('-y, --yes', 'do not ask for confirmation (asked only on a terminal)');
const lifecycle = (
  [
    [
      'start',
      'start the stopped k3d cluster and wait for its nodes',
      ['keystone start', 'keystone start --timeout 5m'],
    ],
    ['stop', 'stop the k3d cluster (its state and volumes are kept)', ['keystone stop', 'keystone stop --verbose']],
    [
      'delete',
      'delete the k3d cluster and its volumes (./data on the host is kept)',
      ['keystone delete', 'keystone delete && keystone setup   # recreate from the config'],
    ],
  ] as const
).map(([name, description, examples]) =>
  command(name, description, {
    options:
      name === 'delete'
        ? [dryRun('print the k3d call instead of running it'), yes]
        : [dryRun('print the k3d call instead of running it')],
    examples: [...examples],
    load: () => import('./commands/lifecycle.js'),
    run: (m, app) => m.lifecycle[name](app),
  }),
);

/**
 * A command whose only option is -o: it prints one report in the format chosen (the first one by
 * default). What print returns is the exit code when it is a number (doctor's), else ignored.
 */
function report<M, const F extends readonly [string, ...string[]]>(
  name: string,
  description: string,
  formats: F,
  examples: string[],
  load: () => Promise<M>,
  print: (m: M, app: AppContext, output: F[number]) => Promise<unknown>,
): RegisteredSpec {
  return command(name, description, {
    options: [output(formats)],
    examples,
    load,
    run: async (m, app, _args, o) => {
      const code = await print(m, app, o.output);
      return typeof code === 'number' ? code : undefined;
    },
  });
}

/** Every command, in the order --help lists them. To add one, see docs/architecture.md. */
export const commandTable: readonly RegisteredSpec[] = [
  command(
    'setup',
    'create or start the k3d cluster, import the images, apply k8s/manifests, wait until the stack is up',
    {
      options: [
        dryRun(
          "print what would be done (each k3d call and object) and change nothing; uses the API server's dry run when the cluster runs",
        ),
        forceConflicts('take over manifest fields that another tool (kubectl edit/apply) now owns'),
      ],
      examples: ['keystone setup', 'keystone setup --dry-run --verbose'],
      load: () => import('./commands/setup.js'),
      run: async (m, app) => {
        await m.setup(app);
      },
    },
  ),
  command(
    'apply',
    'apply k8s/manifests by server-side apply (the stack part of setup), to the keystone cluster or --context',
    {
      options: [
        dryRun("validate with the API server's dry run; change nothing"),
        forceConflicts('take over manifest fields that another tool now owns'),
        option('--wait', 'then wait until every deployment is ready and the volume bound'),
      ],
      examples: ['keystone apply --wait', 'keystone apply --dry-run --context lab'],
      load: () => import('./commands/apply.js'),
      run: (m, app, _args, o) => m.apply(app, { wait: Boolean(o.wait) }),
    },
  ),
  command(
    'import-images',
    'build missing images (images/compose.yaml) and import them into the k3d cluster in one k3d call',
    {
      args: [
        argument('[image...]', 'images (or compose service names) to import; default: all in images/compose.yaml'),
      ],
      options: [
        option('--build', 'rebuild the images even if Docker already has them'),
        option('--force', 'import even the images the cluster already has'),
        dryRun('print the docker and k3d calls instead of running them'),
      ],
      examples: ['keystone import-images', 'keystone import-images keystone-celery-worker:0.1.0 --build'],
      load: () => import('./commands/import-images.js'),
      run: (m, app, [images], o) =>
        m.importImagesCommand(app, images ?? [], { build: Boolean(o.build), force: Boolean(o.force) }),
    },
  ),
  // keystone push-images (issue 26): the images through a registry, remembered in the cluster.
  command(
    'push-images',
    "build missing images and push them to the cluster's registry (the k3d registry, or --registry for another cluster); runs and the stack then use them, pinned by digest",
    {
      args: [argument('[image...]', 'images (or compose service names) to push; default: all in images/compose.yaml')],
      options: [
        option(
          '--registry <registry>',
          "the registry (and path) to push to and the nodes pull from, e.g. ghcr.io/your-group; remembered in the cluster (default: the k3d cluster's own, or the one remembered)",
        ),
        option('--build', 'rebuild the images even if Docker already has them'),
        dryRun('print the docker calls and change nothing'),
      ],
      examples: ['keystone push-images', 'keystone push-images --context lab --registry ghcr.io/your-group'],
      load: () => import('./commands/push-images.js'),
      run: (m, app, [images], o) =>
        m.pushImagesCommand(app, images ?? [], { registry: o.registry, build: Boolean(o.build) }),
    },
  ),
  ...lifecycle,
  report(
    'status',
    'show the cluster (exists, running, servers/agents) and its nodes',
    ['table', 'json', 'yaml'],
    ['keystone status', 'keystone status -o json | jq .healthy'],
    () => import('./commands/status.js'),
    (m, app, o) => m.status(app, o),
  ),
  report(
    'pods',
    "list the stack's pods: phase, ready, restarts, age, node, and why an unhealthy pod is unhealthy",
    ['table', 'wide', 'json', 'yaml'],
    ['keystone pods', 'keystone pods -o wide'],
    () => import('./commands/pods.js'),
    (m, app, o) => m.pods(app, o),
  ),
  // keystone events (issue 17): the namespace's events as kubectl events shows them.
  command(
    'events',
    'the stack\'s events, newest last, repeats counted ("x5 over 10m"), warnings highlighted; -f follows',
    {
      options: [
        output(['table', 'json', 'yaml']),
        follow('keep watching and print events as they come (Ctrl-C stops)'),
        option('--for <name>', 'only events about this object (name or kind/name, e.g. pod/redis-0)'),
      ],
      examples: ['keystone events', 'keystone events -f --for pod/lammps-20261125-214700-a3f9-0-x7k2q'],
      load: () => import('./commands/events.js'),
      run: (m, app, _args, o) => m.events(app, { output: o.output, follow: Boolean(o.follow), for: o.for }),
    },
  ),
  // keystone describe (issue 17): a deployment, pod or run on one screen, as kubectl describe.
  command(
    'describe',
    'conditions, containers (image, state, last termination, restarts), mounts and recent events of a deployment, pod or run',
    {
      args: [
        argument(
          '<name>',
          'a deployment (celery-worker), a pod (full or short name), or a run id; or deployment/NAME, pod/NAME, run/ID',
        ),
      ],
      options: [output(['table', 'json', 'yaml'])],
      examples: ['keystone describe celery-worker', 'keystone describe 20261125-214700-a3f9 -o json'],
      load: () => import('./commands/describe.js'),
      run: (m, app, [name], o) => m.describeCommand(app, name, o.output),
    },
  ),
  // keystone top (issue 17): CPU and memory from the metrics API, as kubectl top.
  report(
    'top',
    'CPU and memory per node and per pod from the metrics API (metrics-server), as `kubectl top` shows them',
    ['table', 'json', 'yaml'],
    ['keystone top', "keystone top -o json | jq '.pods[] | select(.memoryBytes > 1e9)'"],
    () => import('./commands/top.js'),
    (m, app, o) => m.top(app, o),
  ),
  command('logs', "print the logs of a service's pods (interleaved, prefixed with the pod) or of one pod", {
    args: [
      argument('<name>', 'a service (redis, celery-worker), a simulation tool (fenicsx, lammps, openfoam), or a pod'),
    ],
    options: [
      follow('keep streaming, and pick up pods that start later; Ctrl-C stops'),
      option('--since <duration>', 'only lines newer than this, e.g. 10m'),
      option('--tail <lines>', 'only the last N lines of each pod'),
      option('--timestamps', 'prefix each line with its timestamp'),
      option('--previous', "the previous (crashed) container's logs"),
      container('only this container'),
    ],
    examples: ['keystone logs celery-worker --tail 50', 'keystone logs redis -f --since 10m'],
    load: () => import('./commands/logs.js'),
    run: (m, app, [name], o) => m.logs(app, name, o),
  }),
  command('shell', 'open a shell (bash, else sh) in a pod through kubectl exec, or run a command there', {
    args: [
      argument('<name>', 'a pod, or a service (a ready pod of it is chosen)'),
      argument('[command...]', 'run this instead of a shell (after --)'),
    ],
    options: [container('the container to enter')],
    examples: ['keystone shell redis', 'keystone shell celery-worker -- celery -A keystone_worker.app inspect ping'],
    load: () => import('./commands/shell.js'),
    run: (m, app, [name, words], o) =>
      m.shell(app, name, words ?? [], { container: o.container, stdinIsTTY: app.stdinIsTTY }),
  }),
  command('scale', "set a deployment's replica count and wait until the pods are ready", {
    args: [
      argument('<deployment>', 'deployment to scale, e.g. celery-worker'),
      argument('<replicas>', 'number of replicas, 0 to 100'),
    ],
    options: [dryRun('say what would change (the current and the new count) and change nothing')],
    examples: ['keystone scale celery-worker 4', 'keystone scale celery-worker 0   # stop the workers'],
    load: () => import('./commands/scale-restart.js'),
    run: (m, app, [deployment, replicas]) => m.scale(app, deployment, replicas),
  }),
  command('restart', "restart a deployment's pods as `kubectl rollout restart` does, and wait for the new ones", {
    args: [argument('<deployment>', 'deployment to restart, or "all"')],
    options: [dryRun('say which deployments would be restarted and change nothing')],
    examples: ['keystone restart celery-worker', 'keystone restart all'],
    load: () => import('./commands/scale-restart.js'),
    run: (m, app, [deployment]) => m.restart(app, deployment),
  }),
  // keystone rollback (issue 17): kubectl rollout history / undo for the stack's deployments.
  command(
    'rollback',
    'roll a deployment back to its previous (or a chosen) revision as `kubectl rollout undo` does, and wait for the pods; --list shows the revisions',
    {
      args: [argument('<deployment>', 'deployment to roll back, e.g. celery-worker')],
      options: [
        option('--to-revision <n>', 'the revision to go back to (default: the one before the current)'),
        option('--list', 'list the revisions instead, as `kubectl rollout history` does'),
        output(['table', 'json', 'yaml']),
        dryRun(
          'check the rollback (the revision exists, the deployment is not paused) and say what it would do; change nothing',
        ),
      ],
      examples: [
        'keystone rollback celery-worker --list',
        'keystone rollback celery-worker',
        'keystone rollback celery-worker --to-revision 1',
      ],
      load: () => import('./commands/rollback.js'),
      run: (m, app, [deployment], o) =>
        m.rollback(app, deployment, { list: Boolean(o.list), toRevision: o.toRevision, output: o.output }),
    },
  ),
  command(
    'run-simulation',
    "run a simulation as a Kubernetes Job from the tool's template, follow it, exit with its exit code",
    {
      args: [
        argument('<tool>', 'a simulation profile: fenicsx, lammps, openfoam (k8s/simulations/profiles.yaml)'),
        argument(
          '<input>',
          'input file (or OpenFOAM case directory), by name in data/<tool>/ or as a path inside data/',
        ),
        argument('[args...]', 'extra arguments for the simulation program (after --)'),
      ],
      options: [
        option('-d, --detach', 'submit, print the run id, and return'),
        option('--cancel-on-interrupt', 'on Ctrl-C, cancel the run instead of detaching from it'),
        option('--retries <n>', 'rerun a failed simulation up to n times (default 0)'),
        option(
          '--cpus <amount>',
          'CPU request and limit, e.g. 2 or 500m (0.1 to 16 cores); with --ranks, per rank (default 1)',
        ),
        option('-n, --ranks <N>', 'run under MPI with N ranks in one pod (the pod asks for N × --cpus)'),
        option('--ntasks <N>', "same as --ranks (sbatch's name)"),
        option('--nodes <K>', 'spread the ranks over K nodes (needs the Kubeflow MPI Operator)'),
        option('--memory <amount>', 'memory request and limit, e.g. 8Gi (64Mi to 64Gi)'),
        repeatable('--env <KEY=VALUE>', 'environment variable for the run (repeatable)'),
        option('--image <image>', "run with this image instead of the template's"),
        repeatable(
          '--sweep <NAME=v1,v2,...>',
          'parameter sweep: one run per combination, values in $NAME (repeatable)',
        ),
        option('--parallel <n>', 'with --sweep: at most n runs at once'),
        option(
          '--progress <mode>',
          "progress from the code's output: auto (a bar on a terminal, a line per 10% otherwise), bar, plain, json (one JSON object per line on stderr), none",
        ),
        option(
          '--volume-size <size>',
          'another cluster (--context): size of the run volume keystone creates, e.g. 50Gi (default 10Gi)',
        ),
      ],
      examples: [
        'keystone run-simulation lammps in.lj',
        'keystone run-simulation fenicsx poisson.py --sweep N=16,32,64 --parallel 2',
        'keystone run-simulation openfoam cavity --ranks 4',
        "keystone run-simulation openfoam cavity --timeout 2h   # --timeout: the run's time limit (activeDeadlineSeconds)",
      ],
      load: () => import('./commands/run-simulation.js'),
      // --timeout is a global option; for a run it is the run's time limit.
      run: (m, app, [tool, input, extra], o) =>
        m.runSimulation(app, tool, input, extra ?? [], { ...o, timeout: app.options.timeout }),
    },
  ),
  command('jobs', 'list simulation runs: tool, state, start, duration, exit code, output directory (newest first)', {
    options: [output(['table', 'wide', 'json', 'yaml']), jobsTool, jobsAll, jobsOrphans],
    examples: [
      'keystone jobs',
      'keystone jobs --tool lammps -o json',
      'keystone jobs -o wide   # and the image each run runs (pinned by digest)',
      'keystone jobs --orphans   # run directories without a run; `jobs clean --orphans` removes them',
    ],
    load: () => import('./commands/jobs-list.js'),
    run: async (m, app, _args, o) => {
      await m.jobsList(app, { output: o.output, tool: o.tool, all: Boolean(o.all), orphans: Boolean(o.orphans) });
    },
    subcommands: [
      command('logs', "print a run's output; with -f follow it until it ends and exit with its exit code", {
        args: [argument('<run-id>', 'the run (see `keystone jobs`)')],
        options: [follow('re-attach to a running run')],
        refuse: notForRun,
        examples: ['keystone jobs logs 20261125-214700-a3f9', 'keystone jobs logs 20261125-214700-a3f9 -f'],
        load: () => import('./commands/jobs.js'),
        run: (m, app, [id], o) => m.jobsLogs(app, id, Boolean(o.follow)),
      }),
      // keystone jobs show / rerun (issue 26): a run's record, and the same run again.
      command(
        'show',
        "a run's record: keystone version, command, --env names, image digest, input SHA-256, profile, cluster, nodes, times, exit code",
        {
          args: [argument('<run-id>', 'the run (see `keystone jobs`)')],
          options: [output(['table', 'json', 'yaml'])],
          refuse: oneRun,
          examples: [
            'keystone jobs show 20261125-214700-a3f9',
            'keystone jobs show 20261125-214700-a3f9 -o json | jq -r .record.image.ref',
          ],
          load: () => import('./commands/jobs-show.js'),
          run: async (m, app, [id], o) => {
            await m.jobsShow(app, id, o.output);
          },
        },
      ),
      command(
        'rerun',
        "submit a run again: the same image digest, arguments, options and profile, the input from the run's own copy; here or on --context",
        {
          args: [argument('<run-id>', 'the run (see `keystone jobs`, `keystone jobs show`)')],
          options: [
            repeatable('--env <KEY=VALUE>', "the run's --env variables again (their values are never recorded)"),
            option('--image <image>', "run with this image instead of the original's (the rerun says so)"),
            option('-d, --detach', 'submit, print the new run id, and return'),
            option('--cancel-on-interrupt', 'on Ctrl-C, cancel the run instead of detaching from it'),
            option('--progress <mode>', 'as for run-simulation: auto, bar, plain, json, none'),
          ],
          refuse: { ...notForRun, timeout: "the rerun keeps the run's own time limit (its record)" },
          examples: [
            'keystone jobs rerun 20261125-214700-a3f9',
            'keystone jobs rerun 20261125-214700-a3f9 --context lab --env API_TOKEN=$TOKEN -d',
          ],
          load: () => import('./commands/jobs-rerun.js'),
          run: (m, app, [id], o) =>
            m.jobsRerun(app, id, {
              env: o.env,
              image: o.image,
              detach: o.detach,
              cancelOnInterrupt: o.cancelOnInterrupt,
              progress: o.progress,
            }),
        },
      ),
      command(
        'cancel',
        'stop a run: delete its Job and pods (on another cluster: suspend it and keep it, so its outputs can still be fetched)',
        {
          args: [argument('<run-id>', 'the run to stop')],
          refuse: { output: 'it says what it did in one line on stderr, with no data to format', ...oneRun },
          examples: [
            'keystone jobs cancel 20261125-214700-a3f9',
            'keystone jobs cancel $(keystone run-simulation lammps in.lj -d)',
          ],
          load: () => import('./commands/jobs.js'),
          run: (m, app, [id]) => m.jobsCancel(app, id),
        },
      ),
      command('clean', "delete finished runs' Jobs; outputs are removed only with --purge-outputs", {
        options: [
          option('--older-than <duration>', 'only runs that finished longer ago than this, e.g. 7d'),
          option('--failed', 'only failed runs'),
          option('--purge-outputs', 'also delete their output directories under data/<tool>/runs/'),
          dryRun('list the runs (and output directories) it would delete, and delete nothing'),
          yes,
        ],
        inherits: [jobsTool, jobsOrphans],
        refuse: {
          output: 'it prints what it deletes, as text',
          all: 'it considers every finished run whatever its age; --older-than limits that',
        },
        examples: [
          'keystone jobs clean --older-than 7d',
          'keystone jobs clean --tool lammps --failed --purge-outputs --dry-run',
          'keystone jobs clean --orphans --older-than 30d',
        ],
        load: () => import('./commands/jobs.js'),
        run: (m, app, _args, o) =>
          m.jobsClean(app, {
            olderThan: o.olderThan,
            failed: Boolean(o.failed),
            purgeOutputs: Boolean(o.purgeOutputs),
            tool: o.tool,
            dryRun: Boolean(o.dryRun),
            orphans: Boolean(o.orphans),
          }),
      }),
      // keystone jobs fetch (issue 16): a run's outputs from its volume on another cluster.
      command(
        'fetch',
        "bring a run's outputs from its volume on another cluster to data/<tool>/runs/<run-id>/; resumable, each file checked by size and SHA-256",
        {
          args: [argument('<run-id>', 'the run (see `keystone jobs`)')],
          options: [
            option('--to <dir>', 'put them in this directory instead'),
            option('--force', "overwrite files there whose content differs from the run's (never without it)"),
          ],
          refuse: {
            output: "it writes the run's files to disk and reports on stderr, with no data to format",
            ...oneRun,
          },
          examples: [
            'keystone jobs fetch 20261125-214700-a3f9 --context lab',
            'keystone jobs fetch 20261125-214700-a3f9 --context lab --to results/',
          ],
          load: () => import('./commands/jobs-fetch.js'),
          run: (m, app, [id], o) => m.jobsFetch(app, id, { to: o.to, force: Boolean(o.force) }),
        },
      ),
      // keystone jobs plot (issue 17): a run's residuals or thermo as a picture or a terminal chart.
      command(
        'plot',
        "plot a run's log: OpenFOAM initial residuals against time, LAMMPS thermo against step; a sweep: one line per index",
        {
          args: [argument('<run-id>', 'the run (see `keystone jobs`)')],
          options: [
            option('--out <file>', 'write a picture (.svg or .png) instead of a chart in the terminal'),
            option(
              '--series <names>',
              'only these columns or fields, comma-separated (a sweep plots the first unless given)',
            ),
            option('--force', 'replace an --out file already there with other content (never without it)'),
          ],
          refuse: { output: 'it draws a chart (or writes --out)', ...oneRun },
          examples: [
            'keystone jobs plot 20261125-214700-a3f9',
            'keystone jobs plot 20261125-214700-a3f9 --out thermo.png --series Temp,TotEng',
          ],
          load: () => import('./commands/jobs-plot.js'),
          run: (m, app, [id], o) => m.jobsPlot(app, id, { out: o.out, series: o.series, force: Boolean(o.force) }),
        },
      ),
    ],
  }),
  report(
    'doctor',
    'check Docker, kubectl, k3d, host ports, ./data and the kube context; exit 1 if any check fails',
    ['text', 'json', 'yaml'],
    ['keystone doctor', 'keystone doctor -o json'],
    () => import('./commands/doctor.js'),
    (m, app, o) => m.doctor(app, o),
  ),
  command(
    'completion',
    'print a shell completion script (commands, options, tools, and live deployment, pod and run names)',
    {
      args: [argument('<shell>', 'bash, zsh or fish')],
      refuse: refuseOffline,
      examples: [
        'keystone completion bash > ~/.local/share/bash-completion/completions/keystone',
        'keystone completion zsh > "${fpath[1]}/_keystone"',
      ],
      load: () => import('./commands/completion.js'),
      run: async (m, app, [shell]) => m.completionCommand(app, shell),
    },
  ),
];

export function buildProgram(version: string, runCommand: CommandRunner): Command {
  const program = new Command('keystone')
    .description('Bring up and operate the keystone k3d cluster for FEniCSx, LAMMPS and OpenFOAM simulations.')
    .version(version, '-V, --version', 'print the keystone version')
    .option(
      '--context <name>',
      'kubeconfig context to act on (default: k3d-<cluster name in the config>; never the current-context)',
    )
    .option('--kubeconfig <file>', 'kubeconfig file to use (default: $KUBECONFIG or ~/.kube/config)')
    .option('--config <file>', 'k3d cluster config (default: k8s/configs/k3d-cluster-config.yaml in the project)')
    .option('--timeout <duration>', 'give up waiting after this long, e.g. 90s, 5m (default depends on the command)')
    .option('-v, --verbose', 'print each external command and API request, and stack traces on errors')
    .option('-q, --quiet', 'print errors and requested data only')
    // Each command's --help also lists --context, --timeout and the other global options it accepts.
    .configureHelp(acceptedHelp)
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run `keystone --help` for usage)')
    .addHelpText(
      'after',
      examplesText([
        'keystone setup              # create the cluster (idempotent)',
        'keystone status -o json     # cluster and node state for scripts',
        'keystone doctor             # check Docker, kubectl, k3d, ports, kubeconfig',
      ]),
    );

  register(program, commandTable, runCommand);

  // Called by the completion scripts: candidates for the words typed so far, one per line. It
  // needs the program itself, and reads --context/--kubeconfig from the words being completed.
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .action(async (words: string[] | undefined) => {
      const typed = words ?? [];
      // bin/keystone.cjs answers most TABs without this program (src/completion/fast.ts), from the same tree.
      const [{ completionOutput }, { treeOf, completionTargetOptions }] = await Promise.all([
        import('./completion/complete.js'),
        import('./completion/tree.js'),
      ]);
      await runCommand({ ...completionTargetOptions(typed), quiet: true }, async (app) => {
        app.ui.data(await completionOutput(app, treeOf(program), typed.length ? typed : ['']));
      });
    });

  return program;
}
