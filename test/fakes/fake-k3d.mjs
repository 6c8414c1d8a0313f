// Fake `k3d` (v5.8): cluster create/list/start/stop/delete with k3d's own output shapes:
// logrus lines on stderr ("INFO[0000] ...", "ERRO[...]", "FATA[...]"), `cluster list -o json`
// with the running/total counts, rollback on a failed create, kubeconfig merged on create and
// cleaned on delete. Nodes register with the fake API server as k3s nodes do.
import { readFileSync, writeFileSync, mkdirSync, existsSync, chmodSync } from 'node:fs';
import { dirname, join, isAbsolute } from 'node:path';
import { homedir } from 'node:os';
import { parse, stringify } from 'yaml';
import { apiCall, loadState, logCall, saveState, sleep } from './fake-state.mjs';

const argv = process.argv.slice(2);
logCall('k3d', argv);
const state = loadState();
state.clusters ??= {};
const k3d = state.k3d ?? {};
const color = (code, text) => `\u001b[${code}m${text}\u001b[0m`;
const log = (level, msg) => {
  const tag = { INFO: color(36, 'INFO'), WARN: color(33, 'WARN'), ERRO: color(31, 'ERRO'), FATA: color(31, 'FATA') }[level];
  process.stderr.write(`${tag}[0000] ${msg}\n`);
};
const fatal = (msg) => {
  log('FATA', msg);
  process.exit(1);
};
const dockerDown = () =>
  state.docker?.down &&
  fatal('runtime failed to list nodes: docker failed to get containers with labels \'map[app:k3d]\': failed to list containers: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?');

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
  await apiCall('POST', '/__fake/images', { images });
  log('INFO', `Successfully imported ${images.length} image(s) into 1 cluster(s)`);
  process.exit(0);
}

if (cmd !== 'cluster') fatal(`unknown command "${cmd}" for "k3d"`);

function listed(name, c) {
  const nodes = [
    ...Array.from({ length: c.servers }, (_, i) => ({ name: `k3d-${name}-server-${i}`, role: 'server', State: { Running: i < c.serversRunning, Status: i < c.serversRunning ? 'running' : 'exited' } })),
    ...Array.from({ length: c.agents }, (_, i) => ({ name: `k3d-${name}-agent-${i}`, role: 'agent', State: { Running: i < c.agentsRunning, Status: i < c.agentsRunning ? 'running' : 'exited' } })),
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

function kubeconfigPath() {
  const env = process.env.KUBECONFIG;
  if (env) return env.split(':').filter(Boolean)[0];
  return join(homedir(), '.kube', 'config');
}

function editKubeconfig(edit) {
  const file = kubeconfigPath();
  const doc = existsSync(file) ? parse(readFileSync(file, 'utf8')) ?? {} : {};
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  doc.clusters ??= [];
  doc.users ??= [];
  doc.contexts ??= [];
  edit(doc);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  chmodSync(file, 0o600);
}

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
          ...(n.server ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true', 'node-role.kubernetes.io/etcd': 'true' } : {}),
        },
      },
      status: {
        conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready' }],
        nodeInfo: { kubeletVersion: 'v1.31.5+k3s1' },
      },
    });
  }
}

if (sub === 'list' || sub === 'ls' || sub === 'get') {
  dockerDown();
  const names = rest.filter((a) => !a.startsWith('-') && a !== 'json');
  const all = Object.entries(state.clusters).map(([n, c]) => listed(n, c));
  const chosen = names.length ? all.filter((c) => names.includes(c.name)) : all;
  if (names.length && chosen.length === 0) fatal(`failed to get cluster '${names[0]}': No nodes found for given cluster`);
  process.stdout.write(`${JSON.stringify(chosen)}\n`);
  process.exit(0);
}

if (sub === 'create') {
  dockerDown();
  const file = rest[rest.indexOf('--config') + 1];
  const config = parse(readFileSync(file, 'utf8'));
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
  const c = { servers: config.servers ?? 1, agents: config.agents ?? 0, serversRunning: config.servers ?? 1, agentsRunning: config.agents ?? 0, volumes: config.volumes ?? [] };
  state.clusters[name] = c;
  saveState(state);
  const kc = config.options?.kubeconfig ?? {};
  if (kc.updateDefaultKubeconfig !== false) {
    editKubeconfig((doc) => {
      const ctx = `k3d-${name}`;
      doc.clusters = doc.clusters.filter((x) => x.name !== ctx).concat({ name: ctx, cluster: { server: process.env.KEYSTONE_FAKE_API ?? 'https://127.0.0.1:6443', 'insecure-skip-tls-verify': true } });
      doc.users = doc.users.filter((x) => x.name !== `admin@${ctx}`).concat({ name: `admin@${ctx}`, user: { token: 'fake-k3d-token-do-not-print' } });
      doc.contexts = doc.contexts.filter((x) => x.name !== ctx).concat({ name: ctx, context: { cluster: ctx, user: `admin@${ctx}` } });
      if (kc.switchCurrentContext !== false) doc['current-context'] = ctx;
    });
  }
  await apiCall('POST', '/__fake/up');
  await registerNodes(name, c);
  log('INFO', `Cluster '${name}' created successfully!`);
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
  if (existsSync(kubeconfigPath())) {
    editKubeconfig((doc) => {
      const ctx = `k3d-${name}`;
      doc.clusters = doc.clusters.filter((x) => x.name !== ctx);
      doc.users = doc.users.filter((x) => x.name !== `admin@${ctx}`);
      doc.contexts = doc.contexts.filter((x) => x.name !== ctx);
      if (doc['current-context'] === ctx) doc['current-context'] = '';
    });
  }
  log('INFO', `Successfully deleted cluster ${name}!`);
  process.exit(0);
}

fatal(`unknown command "${sub}" for "k3d cluster"`);
