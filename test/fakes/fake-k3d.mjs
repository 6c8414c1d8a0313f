// Fake `k3d` (v5.8): cluster create/list/start/stop/delete with k3d's own output shapes:
// logrus lines on stderr ("INFO[0000] ...", "ERRO[...]", "FATA[...]"), `cluster list -o json`
// with the running/total counts, rollback on a failed create, kubeconfig merged on create (as k3d
// does it, including its refusal of a KUBECONFIG listing several files), printed by `kubeconfig get`, and
// cleaned on delete. Nodes register with the fake API server as k3s nodes do.
import { readFileSync, writeFileSync, mkdirSync, existsSync, chmodSync, statSync } from 'node:fs';
import { dirname, join, isAbsolute } from 'node:path';
import { homedir } from 'node:os';
import { parse, stringify } from 'yaml';
import { apiCall, dockerImageId, loadState, logCall, saveState, sleep } from './fake-state.mjs';

const argv = process.argv.slice(2);
await logCall('k3d', argv);
const state = loadState();
state.clusters ??= {};
const k3d = state.k3d ?? {};
const color = (code, text) => `\u001b[${code}m${text}\u001b[0m`;
const log = (level, msg) => {
  const tag = { INFO: color(36, 'INFO'), WARN: color(33, 'WARN'), ERRO: color(31, 'ERRO'), FATA: color(31, 'FATA') }[
    level
  ];
  process.stderr.write(`${tag}[0000] ${msg}\n`);
};
const fatal = (msg) => {
  log('FATA', msg);
  process.exit(1);
};
const dockerDown = () =>
  state.docker?.down &&
  fatal(
    "runtime failed to list nodes: docker failed to get containers with labels 'map[app:k3d]': failed to list containers: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
  );

const [cmd, sub, ...rest] = argv;

if (cmd === 'version') {
  if (k3d.versionOutput !== undefined) process.stdout.write(k3d.versionOutput);
  else process.stdout.write(`k3d version ${k3d.version ?? 'v5.8.3'}\nk3s version v1.31.5-k3s1 (default)\n`);
  process.exit(0);
}

if (cmd === 'image' && sub === 'import') {
  dockerDown();
  const clusterName = rest[rest.indexOf('--cluster') + 1];
  const images = rest.filter((a, i) => !a.startsWith('-') && rest[i - 1] !== '--cluster');
  if (!state.clusters[clusterName]) fatal(`Failed to get cluster '${clusterName}': No nodes found for given cluster`);
  const missing = images.find((i) => !(state.docker?.images ?? []).includes(i));
  if (missing) fatal(`failed to save image(s): Error response from daemon: reference does not exist`);
  log('INFO', `Importing image(s) into cluster '${clusterName}'`);
  state.clusters[clusterName].images = [...new Set([...(state.clusters[clusterName].images ?? []), ...images])];
  saveState(state);
  // ctr image import of a docker save archive: the nodes get the tag (no digest name) and the image ID.
  await apiCall('POST', '/__fake/images', {
    images,
    ids: Object.fromEntries(images.map((i) => [i, dockerImageId(state.docker, i)])),
  });
  log('INFO', `Successfully imported ${images.length} image(s) into 1 cluster(s)`);
  process.exit(0);
}

if (cmd === 'kubeconfig' && ['get', 'print', 'show'].includes(sub)) {
  // cmd/kubeconfig/kubeconfigGet.go: every cluster is looked up first (a missing one is fatal),
  // then each kubeconfig is printed after a "---" line.
  const names = rest.filter((a) => !a.startsWith('-'));
  if (names.length === 0) {
    process.stderr.write('Error: Need to specify one or more cluster names *or* set `--all` flag\n');
    process.exit(1);
  }
  dockerDown();
  for (const n of names) if (!state.clusters[n]) fatal('No nodes found for given cluster');
  for (const n of names) process.stdout.write(`---\n${stringify(clusterKubeconfig(n))}`);
  process.exit(0);
}

if (cmd !== 'cluster') fatal(`unknown command "${cmd}" for "k3d"`);

function listed(name, c) {
  const nodes = [
    ...Array.from({ length: c.servers }, (_, i) => ({
      name: `k3d-${name}-server-${i}`,
      role: 'server',
      State: { Running: i < c.serversRunning, Status: i < c.serversRunning ? 'running' : 'exited' },
    })),
    ...Array.from({ length: c.agents }, (_, i) => ({
      name: `k3d-${name}-agent-${i}`,
      role: 'agent',
      State: { Running: i < c.agentsRunning, Status: i < c.agentsRunning ? 'running' : 'exited' },
    })),
    { name: `k3d-${name}-serverlb`, role: 'loadbalancer', State: { Running: c.serversRunning > 0, Status: 'running' } },
  ];
  return {
    name,
    network: `k3d-${name}`,
    token: 'secret-cluster-token',
    nodes,
    serversRunning: c.serversRunning,
    serversCount: c.servers,
    agentsRunning: c.agentsRunning,
    agentsCount: c.agents,
    hasLoadbalancer: true,
  };
}

/** The server, CA and credentials of the fake API (client certificates when it serves TLS, as k3s does). */
function apiKubeconfigEntries() {
  const file = join(process.env.KEYSTONE_FAKE_DIR ?? '.', 'kubeconfig-entries.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  return {
    cluster: { server: process.env.KEYSTONE_FAKE_API ?? 'https://127.0.0.1:6443', 'insecure-skip-tls-verify': true },
    user: { token: 'fake-k3d-token-do-not-print' },
  };
}

// k3d's default kubeconfig (k3d v5.8.3 pkg/client/kubeconfig.go KubeconfigGetDefaultPath): client-go's
// loading precedence is deduplicate(filepath.SplitList(KUBECONFIG)), empty entries included; with more
// than one entry k3d refuses to choose, otherwise it is GetDefaultFilename (that entry, or ~/.kube/config).
const multipleKubeconfigs =
  'multiple kubeconfigs specified via KUBECONFIG env var: Please reduce to one entry, unset KUBECONFIG or explicitly choose an output';
function kubeconfigPath() {
  const env = process.env.KUBECONFIG;
  if (!env) return { file: join(homedir(), '.kube', 'config') };
  const precedence = [...new Set(env.split(':'))];
  if (precedence.length > 1) return { error: `failed to get default kubeconfig path: ${multipleKubeconfigs}` };
  return { file: precedence[0] };
}

// What KubeconfigGet builds from the server node's /output/kubeconfig.yaml: entries renamed to
// k3d-NAME / admin@k3d-NAME, current-context set (pkg/client/kubeconfig.go KubeconfigGet). Over TLS the
// fake API takes client certificates as k3s does; over plain HTTP a token (a test may set a stale one).
function clusterKubeconfig(name) {
  const ctx = `k3d-${name}`;
  const entries = apiKubeconfigEntries();
  return {
    apiVersion: 'v1',
    clusters: [{ name: ctx, cluster: entries.cluster }],
    contexts: [{ name: ctx, context: { cluster: ctx, user: `admin@${ctx}` } }],
    'current-context': ctx,
    kind: 'Config',
    preferences: {},
    users: [
      {
        name: `admin@${ctx}`,
        user: entries.user.token ? { token: state.clusters[name]?.token ?? entries.user.token } : entries.user,
      },
    ],
  };
}

/** Loads, edits and writes the default kubeconfig as k3d does; returns an error text for k3d to log. */
function editKubeconfig(edit) {
  const { file, error } = kubeconfigPath();
  if (error) return error;
  let doc = {};
  if (existsSync(file)) {
    try {
      doc = parse(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      return `failed to open output file '${file}' or it's not a kubeconfig: ${String(err.message).split('\n')[0]}`;
    }
  }
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  doc.clusters ??= [];
  doc.users ??= [];
  doc.contexts ??= [];
  edit(doc);
  // KubeconfigWrite: clientcmd.WriteToFile to a temporary file (0600), renamed over the target.
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  chmodSync(file, 0o600);
  return undefined;
}

// Nodes as k3s registers them in k3d's containers: named as k3d names the containers (k3d v5.8.3
// pkg/client/cluster.go GenerateNodeName; the hostname, pkg/runtimes/docker/translate.go), servers
// labelled control-plane and master by k3s (pkg/server/server.go setControlPlaneRoleLabel) and etcd
// (embedded etcd), agents with no role label. `keystone status` reads the cluster's shape from these.
async function registerNodes(name, c) {
  const nodes = [
    ...Array.from({ length: c.servers }, (_, i) => ({ name: `k3d-${name}-server-${i}`, server: true })),
    ...Array.from({ length: c.agents }, (_, i) => ({ name: `k3d-${name}-agent-${i}`, server: false })),
  ];
  for (const n of nodes) {
    await apiCall('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        labels: {
          'kubernetes.io/hostname': n.name,
          'kubernetes.io/os': 'linux',
          ...(n.server
            ? {
                'node-role.kubernetes.io/control-plane': 'true',
                'node-role.kubernetes.io/master': 'true',
                'node-role.kubernetes.io/etcd': 'true',
              }
            : {}),
        },
      },
      status: {
        conditions: [
          { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready' },
        ],
        nodeInfo: { kubeletVersion: 'v1.31.5+k3s1' },
        // A k3d node is a container on the host: its capacity is the host's (here, 4 cores).
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      },
    });
  }
}

if (sub === 'list' || sub === 'ls' || sub === 'get') {
  dockerDown();
  const names = rest.filter((a) => !a.startsWith('-') && a !== 'json');
  const all = Object.entries(state.clusters).map(([n, c]) => listed(n, c));
  const chosen = names.length ? all.filter((c) => names.includes(c.name)) : all;
  if (names.length && chosen.length === 0)
    fatal(`failed to get cluster '${names[0]}': No nodes found for given cluster`);
  process.stdout.write(`${JSON.stringify(chosen)}\n`);
  process.exit(0);
}

if (sub === 'create') {
  dockerDown();
  const file = rest[rest.indexOf('--config') + 1];
  // k3d expands environment variables in the whole file before reading it (cmd/util/config/config.go
  // InitViperWithConfigFile: os.ExpandEnv), also in the file keystone writes.
  const config = parse(goExpandEnv(readFileSync(file, 'utf8')));
  state.lastCreateConfig = config;
  saveState(state);
  if (config.apiVersion !== 'k3d.io/v1alpha5') fatal(`Failed to load config: unknown apiVersion ${config.apiVersion}`);
  const name = config.metadata.name;
  log('INFO', `Using config file ${file} (k3d.io/v1alpha5#simple)`);
  if (state.clusters[name]) fatal(`Failed to create cluster '${name}' because a cluster with that name already exists`);
  for (const v of config.volumes ?? []) {
    const host = v.volume.split(':')[0];
    if (!isAbsolute(host) && host.includes('/')) {
      // k3d resolves relative host paths against its own working directory (k3d#1065).
      log('WARN', `relative volume path ${host} resolved against ${process.cwd()}`);
    }
  }
  // files[].source: a one-line source is a path joined to the config file's directory, read now
  // (k3d-io/k3d v5.8.3 pkg/util/files.go ReadFileSource); multi-line text is the content itself.
  for (const f of config.files ?? []) {
    if (String(f.source).includes('\n')) continue;
    const path = join(dirname(file), f.source);
    if (!existsSync(path) || !statSync(path).isFile())
      fatal(`Failed to transform config: failed to read source content: could resolve source file path: ${path}`);
    state.lastCreateFiles = [...(state.lastCreateFiles ?? []), { path, content: readFileSync(path, 'utf8') }];
    saveState(state);
  }
  log('INFO', `Prep: Network`);
  log('INFO', `Created network 'k3d-${name}'`);
  await sleep(k3d.createDelayMs ?? 0);
  const allocated = state.docker?.allocatedPorts ?? [];
  const ports = (config.ports ?? []).map((p) => p.port.split(':').slice(-2, -1)[0]);
  const clash = ports.find((p) => allocated.includes(Number(p)));
  const failure =
    k3d.failCreate ??
    (clash
      ? `Failed Cluster Start: Failed to start server k3d-${name}-serverlb: runtime failed to start node 'k3d-${name}-serverlb': docker failed to start container for node 'k3d-${name}-serverlb': Error response from daemon: driver failed programming external connectivity on endpoint k3d-${name}-serverlb: Bind for 0.0.0.0:${clash} failed: port is already allocated`
      : undefined);
  if (failure) {
    log('ERRO', failure);
    log('ERRO', 'Failed to create cluster >>> Rolling Back');
    log('INFO', `Deleting cluster '${name}'`);
    if (k3d.leaveCreateBehind) {
      state.clusters[name] = { servers: config.servers, agents: 0, serversRunning: 0, agentsRunning: 0 };
      saveState(state);
    }
    fatal('Cluster creation FAILED, all changes have been rolled back!');
  }
  const c = {
    servers: config.servers ?? 1,
    agents: config.agents ?? 0,
    serversRunning: config.servers ?? 1,
    agentsRunning: config.agents ?? 0,
    volumes: config.volumes ?? [],
  };
  state.clusters[name] = c;
  saveState(state);
  const kc = config.options?.kubeconfig ?? {};
  const updateDefault = kc.updateDefaultKubeconfig !== false;
  const switchContext = updateDefault && kc.switchCurrentContext !== false;
  if (updateDefault) {
    // KubeconfigGetWrite → KubeconfigMerge (UpdateExisting: true); the current-context is set when
    // switching, and also whenever the file has none. A failure is only a warning (clusterCreate.go).
    const fetched = clusterKubeconfig(name);
    const problem = editKubeconfig((doc) => {
      for (const section of ['clusters', 'users', 'contexts']) {
        const names = new Set(fetched[section].map((e) => e.name));
        doc[section] = doc[section].filter((x) => !names.has(x.name)).concat(fetched[section]);
      }
      if (switchContext || !doc['current-context']) doc['current-context'] = fetched['current-context'];
    });
    if (problem) log('WARN', problem);
  }
  await apiCall('POST', '/__fake/up');
  await registerNodes(name, c);
  log('INFO', `Cluster '${name}' created successfully!`);
  log('INFO', 'You can now use it like this:');
  if (updateDefault && !switchContext) process.stdout.write(`kubectl config use-context k3d-${name}\n`);
  else if (!switchContext) process.stdout.write(`export KUBECONFIG=$(k3d kubeconfig write ${name})\n`);
  process.stdout.write('kubectl cluster-info\n');
  process.exit(0);
}

const name = rest.find((a) => !a.startsWith('-'));
const cluster = name ? state.clusters[name] : undefined;

if (sub === 'start' || sub === 'stop') {
  dockerDown();
  if (!cluster) fatal(`Failed to get cluster '${name}': No nodes found for given cluster`);
  const running = sub === 'start';
  cluster.serversRunning = running ? cluster.servers : 0;
  cluster.agentsRunning = running ? cluster.agents : 0;
  saveState(state);
  await apiCall('POST', running ? '/__fake/up' : '/__fake/down');
  log('INFO', running ? `Started cluster '${name}'` : `Stopped cluster '${name}'`);
  process.exit(0);
}

if (sub === 'delete' || sub === 'rm') {
  dockerDown();
  if (!cluster) {
    log('ERRO', `Failed to get nodes for cluster '${name}': No nodes found for given cluster`);
    log('INFO', 'No clusters found');
    process.exit(0);
  }
  delete state.clusters[name];
  saveState(state);
  for (let i = 0; i < cluster.servers; i++) await apiCall('DELETE', `/api/v1/nodes/k3d-${name}-server-${i}`);
  for (let i = 0; i < cluster.agents; i++) await apiCall('DELETE', `/api/v1/nodes/k3d-${name}-agent-${i}`);
  // KubeconfigRemoveClusterFromDefaultConfig: a failure is a warning; the current-context moves to
  // another context, or is unset (pkg/client/kubeconfig.go KubeconfigRemoveCluster).
  log('INFO', 'Removing cluster details from default kubeconfig...');
  const { file: defaultFile } = kubeconfigPath();
  const problem =
    defaultFile && !existsSync(defaultFile)
      ? `failed to get default kubeconfig file: open ${defaultFile}: no such file or directory`
      : editKubeconfig((doc) => {
          const ctx = `k3d-${name}`;
          doc.clusters = doc.clusters.filter((x) => x.name !== ctx);
          doc.users = doc.users.filter((x) => x.name !== `admin@${ctx}`);
          doc.contexts = doc.contexts.filter((x) => x.name !== ctx);
          if (doc['current-context'] === ctx) doc['current-context'] = doc.contexts[0]?.name ?? '';
        });
  if (problem) {
    log('WARN', 'Failed to remove cluster details from default kubeconfig');
    log('WARN', problem);
  }
  log('INFO', `Successfully deleted cluster ${name}!`);
  process.exit(0);
}

fatal(`unknown command "${sub}" for "k3d cluster"`);

/** Go's os.ExpandEnv (go/src/os/env.go Expand, getShellName), as k3d v5.8.3 applies it to --config. */
function goExpandEnv(s) {
  const special = (c) => c !== undefined && '*#$@!?-0123456789'.includes(c);
  const alnum = (c) => c !== undefined && /[A-Za-z0-9_]/.test(c);
  const shellName = (t) => {
    if (t[0] === '{') {
      if (t.length > 2 && special(t[1]) && t[2] === '}') return [t[1], 3];
      for (let i = 1; i < t.length; i++) if (t[i] === '}') return i === 1 ? ['', 2] : [t.slice(1, i), i + 1];
      return ['', 1];
    }
    if (special(t[0])) return [t[0], 1];
    let i = 0;
    while (i < t.length && alnum(t[i])) i++;
    return [t.slice(0, i), i];
  };
  let out = '';
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) continue;
    out += s.slice(i, j);
    const [name, w] = shellName(s.slice(j + 1));
    if (name === '' && w === 0) out += '$';
    else if (name !== '') out += process.env[name] ?? '';
    j += w;
    i = j + 1;
  }
  return out + s.slice(i);
}
