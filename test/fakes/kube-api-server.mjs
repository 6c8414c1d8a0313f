// An in-process fake Kubernetes API server that speaks the real wire protocol: discovery
// documents, list with pagination, watch streams (chunked JSON lines, ERROR events with a
// 410 Status for a too-old resourceVersion, BOOKMARKs), Status errors, create/get/delete,
// merge and server-side apply patches, and the /status subresource. It also plays the parts
// of the cluster that change objects on their own (a kubelet that makes new nodes Ready).
// Plain JavaScript so the fake executables and the benchmark can use it as well as the tests.
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { fakeApiCertificates, tlsKubeconfigEntries } from './tls.mjs';
import { attachPodExec } from './pod-exec.mjs';
import { podSecurityRefusal } from './pod-security.mjs';

/** @typedef {{group: string, version: string, kind: string, listKind: string, namespaced: boolean, verbs?: string[]}} ResourceType */

/** @type {Record<string, ResourceType>} */
export const resourceTypes = {
  namespaces: { group: '', version: 'v1', kind: 'Namespace', listKind: 'NamespaceList', namespaced: false },
  nodes: { group: '', version: 'v1', kind: 'Node', listKind: 'NodeList', namespaced: false },
  pods: { group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', namespaced: true },
  services: { group: '', version: 'v1', kind: 'Service', listKind: 'ServiceList', namespaced: true },
  configmaps: { group: '', version: 'v1', kind: 'ConfigMap', listKind: 'ConfigMapList', namespaced: true },
  secrets: { group: '', version: 'v1', kind: 'Secret', listKind: 'SecretList', namespaced: true },
  persistentvolumeclaims: {
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    listKind: 'PersistentVolumeClaimList',
    namespaced: true,
  },
  persistentvolumes: {
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    listKind: 'PersistentVolumeList',
    namespaced: false,
  },
  events: { group: '', version: 'v1', kind: 'Event', listKind: 'EventList', namespaced: true },
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment', listKind: 'DeploymentList', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', kind: 'ReplicaSet', listKind: 'ReplicaSetList', namespaced: true },
  jobs: { group: 'batch', version: 'v1', kind: 'Job', listKind: 'JobList', namespaced: true },
  networkpolicies: {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    listKind: 'NetworkPolicyList',
    namespaced: true,
  },
};

/**
 * Custom resources a test can install (api.installCustomResource): served, like a CRD's, only
 * once installed. MPIJob: kubeflow/mpi-operator v0.8.2, deploy/v2beta1/mpi-operator.yaml (its
 * controller: mpi-operator.mjs).
 * @type {Record<string, ResourceType>}
 */
export const customResourceTypes = {
  mpijobs: { group: 'kubeflow.org', version: 'v2beta1', kind: 'MPIJob', listKind: 'MPIJobList', namespaced: true },
};

/** The short names kubectl users type (from the real API server's discovery). */
const shortNames = {
  namespaces: ['ns'],
  nodes: ['no'],
  pods: ['po'],
  services: ['svc'],
  configmaps: ['cm'],
  persistentvolumeclaims: ['pvc'],
  events: ['ev'],
  deployments: ['deploy'],
  replicasets: ['rs'],
  networkpolicies: ['netpol'],
};

const gvPath = (t) => (t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`);
const apiVersionOf = (t) => (t.group ? `${t.group}/${t.version}` : t.version);

/** A Status object as the real API server sends it. */
export function status(code, reason, message, details) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/**
 * Starts the server on 127.0.0.1 (a free port).
 * With `tls`, it serves HTTPS with a private CA and requires a client certificate, as a k3d
 * cluster does (so TLS costs are paid by every client, as on a real machine).
 * @param {{ nodeReadyDelayMs?: number, historyLimit?: number, port?: number, tls?: boolean }} [options]
 */
export async function startFakeKubeApi(options = {}) {
  const nodeReadyDelayMs = options.nodeReadyDelayMs ?? 30;
  const historyLimit = options.historyLimit ?? 10000;
  /** @type {Map<string, Map<string, any>>} resource -> key(ns/name) -> object */
  const store = new Map(Object.keys(resourceTypes).map((r) => [r, new Map()]));
  /** Resource types served now: the built-in ones and the custom resources installed so far. */
  const served = { ...resourceTypes };
  /** @type {{rv: number, resource: string, type: string, object: any}[]} */
  let history = [];
  let rv = 100;
  /** Events at or below this revision are forgotten (etcd compaction): older watches get 410. */
  let compactedRevision = 0;
  let uid = 0;
  /** @type {Set<{resource: string, namespace?: string, selector: {key: string, op: string, values?: string[]}[], send: (e: any) => void}>} */
  const watchers = new Set();
  /** @type {{method: string, path: string, query: string, at: number}[]} */
  const requests = [];
  /** @type {{match: (r: {method: string, path: string, query: URLSearchParams, headers: import("node:http").IncomingHttpHeaders}) => boolean, status?: number, times: number, body?: any, delayMs?: number}[]} */
  const faults = [];
  /** @type {{remaining: number, match: (r: any) => boolean, reached: (r: any) => void, released: Promise<unknown>}[]} */
  const holds = [];
  const sockets = new Set();
  const timers = new Set();
  let apiDown = false;
  /** Requests that came while the API was down (each had its connection dropped). */
  let refusedWhileDown = 0;

  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function keyOf(obj) {
    return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
  }

  /** @type {((resource: string, type: string, object: any) => void)[]} */
  const listeners = [];

  function record(resource, type, object) {
    // The store's objects are plain JSON (they came as JSON): one stringify and a parse per copy
    // takes about a quarter less than a structuredClone per copy (this was the fake's busiest function).
    const text = JSON.stringify(object);
    for (const listener of listeners) {
      const snapshot = JSON.parse(text);
      setImmediate(() => listener(resource, type, snapshot));
    }
    history.push({ rv: Number(object.metadata.resourceVersion), resource, type, object: JSON.parse(text) });
    if (history.length > historyLimit) {
      const dropped = history.splice(0, history.length - historyLimit);
      compactedRevision = dropped[dropped.length - 1].rv;
    }
    for (const w of watchers) if (matchesWatch(w, resource, object)) w.send({ type, object });
  }

  function matchesWatch(w, resource, object) {
    if (w.resource !== resource) return false;
    if (w.namespace && object.metadata.namespace !== w.namespace) return false;
    return matchesSelector(object, w.selector) && matchesFields(object, w.fields);
  }

  function matchesSelector(obj, requirements) {
    const labels = obj.metadata.labels ?? {};
    return requirements.every(({ key, op, values }) => {
      const has = Object.hasOwn(labels, key);
      if (op === 'exists') return has;
      if (op === '!') return !has;
      if (op === 'in') return has && values.includes(labels[key]);
      return !has || !values.includes(labels[key]); // != and notin: an object without the label matches
    });
  }

  /**
   * A label selector as the API server reads it (k8s.io/apimachinery pkg/labels/selector.go
   * Parse): requirements separated by commas outside parentheses, each `key`, `!key`, `key=v`,
   * `key==v`, `key!=v`, `key in (v1,v2)` or `key notin (v1,v2)`. Anything else: undefined (400).
   */
  function parseLabelSelector(text) {
    const parts = [];
    let depth = 0;
    let current = '';
    for (const ch of text ?? '') {
      if (ch === '(') depth++;
      if (ch === ')') depth--;
      if (ch === ',' && depth === 0) {
        parts.push(current);
        current = '';
      } else current += ch;
    }
    parts.push(current);
    const requirements = [];
    for (const part of parts.map((p) => p.trim())) {
      if (!part) continue;
      let m;
      if ((m = /^([A-Za-z0-9._/-]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part))) {
        requirements.push({ key: m[1], op: m[2] === 'in' ? 'in' : '!=', values: m[3].split(',').map((v) => v.trim()) });
      } else if ((m = /^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/.exec(part))) {
        requirements.push({ key: m[1], op: m[2] === '!=' ? '!=' : 'in', values: [m[3]] });
      } else if ((m = /^!\s*([A-Za-z0-9._/-]+)$/.exec(part))) requirements.push({ key: m[1], op: '!' });
      else if (/^[A-Za-z0-9._/-]+$/.test(part)) requirements.push({ key: part, op: 'exists' });
      else return undefined;
    }
    return requirements;
  }

  function matchesFields(obj, fields) {
    return Object.entries(fields ?? {}).every(([k, v]) => {
      if (k === 'metadata.name') return obj.metadata.name === v;
      if (k === 'metadata.namespace') return obj.metadata.namespace === v;
      // Events are selectable by their object (kubernetes pkg/registry/core/event/strategy.go ToSelectableFields).
      if (k.startsWith('involvedObject.')) return obj.involvedObject?.[k.slice('involvedObject.'.length)] === v;
      return true;
    });
  }

  function parseSelector(text) {
    /** @type {Record<string, string|undefined|null>} */
    const out = {};
    for (const part of (text ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const m = /^([^=!]+?)\s*==?\s*(.*)$/.exec(part);
      if (m) out[m[1]] = m[2];
      else if (part.startsWith('!'))
        out[part.slice(1).trim()] = null; // "!key": the label is absent
      else out[part] = undefined;
    }
    return out;
  }

  /** Stores an object (create or replace) with a new resourceVersion and emits the watch event. */
  function put(resource, object, type) {
    rv += 1;
    object.metadata.resourceVersion = String(rv);
    store.get(resource).set(keyOf(object), object);
    record(resource, type, object);
    return object;
  }

  function create(resource, object) {
    const t = served[resource];
    const obj = structuredClone(object);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    obj.metadata = { ...obj.metadata };
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = `${obj.metadata.generateName}${(++uid).toString(36).padStart(5, 'x')}`;
    obj.metadata.uid = `uid-${++uid}`;
    obj.metadata.creationTimestamp = obj.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.generation = 1;
    // The registry defaults a new namespace's phase to Active in the create itself.
    if (resource === 'namespaces') obj.status = { phase: 'Active', ...obj.status };
    put(resource, obj, 'ADDED');
    onCreated(resource, obj);
    return obj;
  }

  function update(resource, obj) {
    return put(resource, obj, 'MODIFIED');
  }

  function remove(resource, key) {
    const obj = store.get(resource).get(key);
    if (!obj) return undefined;
    if (resource === 'pods')
      for (const c of obj.spec?.containers ?? []) endLogs(obj.metadata.namespace, obj.metadata.name, c.name);
    store.get(resource).delete(key);
    rv += 1;
    obj.metadata.resourceVersion = String(rv);
    record(resource, 'DELETED', obj);
    return obj;
  }

  // --- the parts of a cluster that act on their own -------------------------------------
  function onCreated(resource, obj) {
    if (resource === 'nodes') {
      const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') later(nodeReadyDelayMs, () => setNodeReady(obj.metadata.name, true));
    }
  }

  function setNodeReady(name, ready, reason) {
    const node = store.get('nodes').get(`/${name}`);
    if (!node) return;
    const next = structuredClone(node);
    next.status = next.status ?? {};
    const others = (next.status.conditions ?? []).filter((c) => c.type !== 'Ready');
    next.status.conditions = [
      ...others,
      ready
        ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
        : {
            type: 'Ready',
            status: 'Unknown',
            reason: reason ?? 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
          },
    ];
    update('nodes', next);
  }

  // --- HTTP ------------------------------------------------------------------------------
  function send(res, code, body) {
    if (res.answerLost) {
      // A request held with answerLost: it has been carried out now; the answer comes on release.
      const { hold, until } = res.answerLost;
      res.answerLost = undefined;
      hold.reached({ method: res.req.method, path: new URL(res.req.url, 'http://fake').pathname });
      void until.then((outcome) => outcome !== 'closed' && !res.destroyed && send(res, code, body));
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function discovery(path) {
    if (path === '/version') return { major: '1', minor: '31', gitVersion: 'v1.31.5+k3s1', platform: 'linux/amd64' };
    if (path === '/api')
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
      };
    if (path === '/apis') {
      const groups = [
        ...new Set(
          Object.values(served)
            .map((t) => t.group)
            .filter(Boolean),
        ),
        ...(api.metrics ? ['metrics.k8s.io'] : []),
      ];
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((g) => {
          const v = g === 'metrics.k8s.io' ? 'v1beta1' : Object.values(served).find((t) => t.group === g).version;
          return {
            name: g,
            versions: [{ groupVersion: `${g}/${v}`, version: v }],
            preferredVersion: { groupVersion: `${g}/${v}`, version: v },
          };
        }),
      };
    }
    for (const t of new Set(Object.values(served).map((t) => gvPath(t)))) {
      if (path === t) {
        const entries = Object.entries(served).filter(([, rt]) => gvPath(rt) === t);
        return {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: t.replace(/^\/apis?\//, ''),
          resources: entries.flatMap(([name, rt]) => [
            {
              name,
              singularName: rt.kind.toLowerCase(),
              namespaced: rt.namespaced,
              kind: rt.kind,
              verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
              ...(shortNames[name] ? { shortNames: shortNames[name] } : {}),
            },
            {
              name: `${name}/status`,
              singularName: '',
              namespaced: rt.namespaced,
              kind: rt.kind,
              verbs: ['get', 'patch', 'update'],
            },
            ...(name === 'deployments'
              ? [
                  {
                    name: 'deployments/scale',
                    singularName: '',
                    namespaced: true,
                    group: 'autoscaling',
                    version: 'v1',
                    kind: 'Scale',
                    verbs: ['get', 'patch', 'update'],
                  },
                ]
              : []),
            ...(name === 'pods'
              ? [
                  { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
                  // Served over WebSocket by pod-exec.mjs (the real server lists exec with get and create).
                  {
                    name: 'pods/exec',
                    singularName: '',
                    namespaced: true,
                    kind: 'PodExecOptions',
                    verbs: ['create', 'get'],
                  },
                ]
              : []),
          ]),
        };
      }
    }
    if (path === '/openapi/v3') return { paths: {} };
    return undefined;
  }

  /**
   * metrics.k8s.io/v1beta1 as metrics-server serves it through the aggregator
   * (kubernetes-sigs/metrics-server pkg/api: NodeMetrics, PodMetrics; read-only, get/list). Off
   * unless a test sets api.metrics: then the group is not in discovery and its paths are 404, as
   * on a cluster without metrics-server. api.metrics = 'unavailable' is the APIService registered
   * but metrics-server not answering (the aggregator's 503). Otherwise
   * { nodes: { NAME: {cpu, memory} }, pods: { 'NS/NAME': { CONTAINER: {cpu, memory} } } }:
   * what is not listed has no metrics yet and is left out, as metrics-server does.
   */
  function metricsApi(req, res, path) {
    const notFound = () => send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (!api.metrics) return notFound();
    if (api.metrics === 'unavailable')
      return send(res, 503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
    if (req.method !== 'GET')
      return send(
        res,
        405,
        status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
      );
    const base = '/apis/metrics.k8s.io/v1beta1';
    if (path === base) {
      return send(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'metrics.k8s.io/v1beta1',
        resources: [
          { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
          { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
        ],
      });
    }
    const now = new Date().toISOString();
    const m = /^\/apis\/metrics\.k8s\.io\/v1beta1\/(?:namespaces\/([^/]+)\/)?(nodes|pods)$/.exec(path);
    if (!m) return notFound();
    const [, ns, kind] = m;
    if (kind === 'nodes' && !ns) {
      const items = Object.entries(api.metrics.nodes ?? {})
        .filter(([name]) => store.get('nodes').has(`/${name}`))
        .map(([name, usage]) => ({ metadata: { name, creationTimestamp: now }, timestamp: now, window: '10s', usage }));
      return send(res, 200, { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items });
    }
    if (kind === 'pods') {
      const items = Object.entries(api.metrics.pods ?? {})
        .filter(([key]) => store.get('pods').has(key) && (!ns || key.startsWith(`${ns}/`)))
        .map(([key, containers]) => ({
          metadata: { name: key.split('/')[1], namespace: key.split('/')[0], creationTimestamp: now },
          timestamp: now,
          window: '10s',
          containers: Object.entries(containers).map(([name, usage]) => ({ name, usage })),
        }));
      return send(res, 200, { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items });
    }
    return notFound();
  }

  /** Splits /api/v1/namespaces/ns/pods/name/status into its parts. */
  function route(path) {
    const m =
      /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
        path,
      );
    if (!m) return undefined;
    const [, coreVersion, group, groupVersion, namespace, resource, name, sub] = m;
    // "/api/v1/namespaces/x" matches as the namespaces collection with name x (the regex backtracks).
    const t = served[resource];
    if (!t || t.group !== (group ?? '') || t.version !== (coreVersion ?? groupVersion)) return undefined;
    return { resource, type: t, namespace, name, sub };
  }

  /**
   * The real API server's NamespaceLifecycle admission plugin (kubernetes/kubernetes
   * staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go, Admit; it
   * lived at plugin/pkg/admission/namespace/lifecycle/admission.go before v1.7): creating a
   * namespaced object in a namespace that does not exist is refused with the namespace's own
   * NotFound (`namespaces "x" not found`, 404), and in a namespace being deleted with 403
   * `unable to create new content in namespace x because it is being terminated`. It is a
   * mutating admission plugin, so it answers before validation (422) and storage (409), and it
   * runs for dry runs too (dryRun=All requests go through admission). Answers the request and
   * returns true when it refuses.
   */
  function namespaceLifecycleRefused(res, r, name) {
    if (!r.type.namespaced || !r.namespace) return false;
    const namespace = store.get('namespaces').get(`/${r.namespace}`);
    if (!namespace) {
      send(
        res,
        404,
        status(404, 'NotFound', `namespaces "${r.namespace}" not found`, { name: r.namespace, kind: 'namespaces' }),
      );
      return true;
    }
    if (namespace.status?.phase !== 'Terminating') return false;
    const resource = r.type.group ? `${r.resource}.${r.type.group}` : r.resource;
    send(
      res,
      403,
      status(
        403,
        'Forbidden',
        `${resource} "${name ?? ''}" is forbidden: unable to create new content in namespace ${r.namespace} because it is being terminated`,
        {
          name,
          group: r.type.group,
          kind: r.resource,
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${r.namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      ),
    );
    return true;
  }

  async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** 400 for a label selector the API server would not parse (apiserver: "unable to parse requirement"). */
  function badSelector(res, text) {
    send(res, 400, status(400, 'BadRequest', `unable to parse requirement: ${text}`));
  }

  function list(res, r, query) {
    const selector = parseLabelSelector(query.get('labelSelector'));
    if (!selector) return badSelector(res, query.get('labelSelector'));
    const fields = parseSelector(query.get('fieldSelector'));
    const all = [...store.get(r.resource).values()]
      .filter((o) => !r.namespace || o.metadata.namespace === r.namespace)
      .filter((o) => matchesSelector(o, selector) && matchesFields(o, fields))
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const limit = Number(query.get('limit') ?? 0);
    const start = query.get('continue') ? Number(Buffer.from(query.get('continue'), 'base64url').toString()) : 0;
    const items = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
    const more = limit > 0 && start + limit < all.length;
    send(res, 200, {
      kind: r.type.listKind,
      apiVersion: apiVersionOf(r.type),
      metadata: {
        resourceVersion: String(rv),
        ...(more
          ? {
              continue: Buffer.from(String(start + limit)).toString('base64url'),
              remainingItemCount: all.length - start - limit,
            }
          : {}),
      },
      items,
    });
  }

  function watch(req, res, r, query) {
    const since = query.get('resourceVersion');
    const selector = parseLabelSelector(query.get('labelSelector'));
    if (!selector) return badSelector(res, query.get('labelSelector'));
    const fields = parseSelector(query.get('fieldSelector'));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // The real API server answers a watch at once, before any event: clients wait for these headers.
    res.flushHeaders();
    const write = (event) => res.write(`${JSON.stringify(event)}\n`);
    const w = { resource: r.resource, namespace: r.namespace, selector, fields, send: write };
    if (since && since !== '0' && Number(since) < compactedRevision) {
      write({
        type: 'ERROR',
        object: status(410, 'Expired', `too old resource version: ${since} (${compactedRevision})`),
      });
      res.end();
      return;
    }
    if (!since || since === '0') {
      // No resourceVersion: synthetic ADDED events for what exists now, then changes.
      for (const o of store.get(r.resource).values())
        if (matchesWatch(w, r.resource, o)) write({ type: 'ADDED', object: o });
    } else {
      for (const e of history)
        if (e.rv > Number(since) && matchesWatch(w, e.resource, e.object)) write({ type: e.type, object: e.object });
    }
    watchers.add(w);
    const timeout = Number(query.get('timeoutSeconds') ?? 1800) * 1000;
    const end = () => {
      watchers.delete(w);
      if (!res.writableEnded) res.end();
    };
    later(timeout, end);
    req.on('close', () => watchers.delete(w));
    api.openWatches.add(end);
    res.on('close', () => api.openWatches.delete(end));
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://fake');
    const path = url.pathname;
    const query = url.searchParams;
    if (path.startsWith('/__fake/')) return control(req, res, path);
    if (apiDown) {
      refusedWhileDown += 1;
      req.socket.destroy();
      return;
    }
    requests.push({ method: req.method, path, query: url.search, at: Date.now() });
    // A request a test holds open (api.holdRequest): it waits until released, or ends unanswered
    // when the client gives up on it (Ctrl-C cancels the request).
    for (const hold of holds) {
      if (hold.remaining === 0 || !hold.match({ method: req.method, path, query })) continue;
      hold.remaining -= 1;
      if (hold.remaining > 0) continue;
      const closed = new Promise((resolve) => res.on('close', () => resolve('closed')));
      if (hold.answerLost) {
        // Acted on below; its answer waits (send) until the hold is released, or is never given.
        res.answerLost = { hold, until: Promise.race([hold.released, closed]) };
        continue;
      }
      hold.reached({ method: req.method, path, query: url.search });
      if ((await Promise.race([hold.released, closed])) === 'closed') return;
    }
    const fault = faults.find((f) => f.times > 0 && f.match({ method: req.method, path, query, headers: req.headers }));
    if (fault) {
      fault.times -= 1;
      // A slow API: the answer comes, late.
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.status) {
        const reason =
          fault.status === 429 ? 'TooManyRequests' : fault.status === 503 ? 'ServiceUnavailable' : 'InternalError';
        return send(res, fault.status, fault.body ?? status(fault.status, reason, `injected ${fault.status}`));
      }
    }
    if (path === '/apis/metrics.k8s.io' || path.startsWith('/apis/metrics.k8s.io/')) return metricsApi(req, res, path);
    const doc = req.method === 'GET' ? discovery(path) : undefined;
    if (doc) return send(res, 200, doc);
    const r = route(path);
    if (!r) return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const key = `${r.type.namespaced ? (r.namespace ?? '') : ''}/${r.name ?? ''}`;
    const objects = store.get(r.resource);
    const notFound = () =>
      send(
        res,
        404,
        status(404, 'NotFound', `${r.resource} "${r.name}" not found`, { name: r.name, kind: r.resource }),
      );

    if (!r.name) {
      if (req.method === 'GET')
        return query.get('watch') === 'true' || query.get('watch') === '1'
          ? watch(req, res, r, query)
          : list(res, r, query);
      if (req.method === 'POST') {
        const body = JSON.parse(await readBody(req));
        body.metadata = { ...body.metadata, ...(r.type.namespaced ? { namespace: r.namespace } : {}) };
        if (namespaceLifecycleRefused(res, r, body.metadata.name)) return;
        if (!body.metadata.name && !body.metadata.generateName)
          return send(
            res,
            422,
            status(
              422,
              'Invalid',
              `${r.type.kind} is invalid: metadata.name: Required value: name or generateName is required`,
            ),
          );
        if (body.metadata.name && objects.has(`${body.metadata.namespace ?? ''}/${body.metadata.name}`)) {
          return send(
            res,
            409,
            status(409, 'AlreadyExists', `${r.resource} "${body.metadata.name}" already exists`, {
              name: body.metadata.name,
              kind: r.resource,
            }),
          );
        }
        // A CRD's schema and defaults (api.admission, set by the fake that installs it): 422 as the real server answers.
        const invalid = api.admission[r.resource]?.(body);
        if (invalid) return send(res, 422, status(422, 'Invalid', invalid));
        if (r.resource === 'pods') {
          const refusal = podSecurityRefusal(
            store.get('namespaces').get(`/${r.namespace}`),
            body.metadata.name ?? body.metadata.generateName,
            body.spec ?? {},
          );
          if (refusal)
            return send(res, 403, status(403, 'Forbidden', refusal, { name: body.metadata.name, kind: 'pods' }));
        }
        if (query.get('dryRun') === 'All') return send(res, 201, body);
        return send(res, 201, create(r.resource, body));
      }
      return send(
        res,
        405,
        status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
      );
    }
    const current = objects.get(key);
    if (r.sub === 'log' && r.resource === 'pods') return current ? streamLog(req, res, current, query) : notFound();
    if (r.sub === 'scale' && r.resource === 'deployments') return scale(req, res, current, r, notFound);
    if (r.sub && r.sub !== 'status')
      return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (req.method === 'GET') return current ? send(res, 200, current) : notFound();
    if (req.method === 'DELETE') {
      const removed = remove(r.resource, key);
      return removed ? send(res, 200, removed) : notFound();
    }
    if (req.method === 'PUT') {
      if (!current) return notFound();
      const body = JSON.parse(await readBody(req));
      const next = r.sub === 'status' ? { ...current, status: body.status } : { ...body, status: current.status };
      next.metadata = { ...current.metadata, ...body.metadata, resourceVersion: current.metadata.resourceVersion };
      if (r.sub !== 'status' && rejectInvalidUpdate(res, r.resource, current, next)) return;
      return send(res, 200, update(r.resource, next));
    }
    if (req.method === 'PATCH') {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0];
      const patch = JSON.parse(await readBody(req));
      const manager =
        query.get('fieldManager') ?? (contentType === 'application/apply-patch+yaml' ? undefined : 'kubectl-edit');
      if (contentType === 'application/apply-patch+yaml' && !manager) {
        return send(
          res,
          400,
          status(
            400,
            'BadRequest',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          ),
        );
      }
      // An apply patch of an object that does not exist creates it: admitted as a create.
      if (contentType === 'application/apply-patch+yaml' && !current && namespaceLifecycleRefused(res, r, r.name))
        return;
      const dryRun = query.get('dryRun') === 'All';
      const claim = {
        apply: contentType === 'application/apply-patch+yaml',
        force: query.get('force') === 'true',
        dryRun,
      };
      // Conflicts first (the field manager), then validation; ownership is recorded only for an update that happens.
      const conflicts = claimFields(r.resource, key, manager, patch, current, { ...claim, dryRun: true });
      if (conflicts.length > 0) {
        const apiVersion = apiVersionOf(r.type);
        return send(res, 409, {
          ...status(
            409,
            'Conflict',
            `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map((c) => `conflict with "${c.owner}" using ${apiVersion}: ${c.path}`).join('\n')}`,
          ),
          details: {
            causes: conflicts.map((c) => ({
              type: 'FieldManagerConflict',
              message: `conflict with "${c.owner}" using ${apiVersion}`,
              field: c.path,
            })),
          },
        });
      }
      // Validation runs on every update, dry run or not.
      if (
        current &&
        r.sub !== 'status' &&
        rejectInvalidUpdate(res, r.resource, current, mergePatch(structuredClone(current), patch))
      )
        return;
      claimFields(r.resource, key, manager, patch, current, claim);
      if (dryRun) {
        const preview = current
          ? mergePatch(structuredClone(current), patch)
          : { ...patch, metadata: { ...patch.metadata, namespace: r.namespace } };
        return send(res, current ? 200 : 201, preview);
      }
      if (contentType === 'application/apply-patch+yaml') {
        if (!current) {
          const body = {
            ...patch,
            metadata: { ...patch.metadata, ...(r.type.namespaced ? { namespace: r.namespace } : {}) },
          };
          return send(res, 201, create(r.resource, body));
        }
        const merged = mergePatch(structuredClone(current), patch);
        if (JSON.stringify(strip(merged)) === JSON.stringify(strip(current))) return send(res, 200, current);
        if (JSON.stringify(merged.spec) !== JSON.stringify(current.spec))
          merged.metadata.generation = (current.metadata.generation ?? 1) + 1;
        return send(res, 200, update(r.resource, merged));
      }
      if (!current) return notFound();
      if (contentType === 'application/json-patch+json') {
        // RFC 6902 (what `kubectl rollout undo` sends: kubernetes/kubectl pkg/polymorphichelpers/rollback.go).
        let next;
        try {
          next = jsonPatch(structuredClone(current), patch);
        } catch (err) {
          return send(
            res,
            422,
            status(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`),
          );
        }
        if (r.sub !== 'status' && rejectInvalidUpdate(res, r.resource, current, next)) return;
        if (r.sub !== 'status' && JSON.stringify(next.spec) !== JSON.stringify(current.spec))
          next.metadata.generation = (current.metadata.generation ?? 1) + 1;
        return send(res, 200, update(r.resource, next));
      }
      // A custom resource takes no strategic merge patch (kubernetes.io, "Update API Objects in Place
      // Using kubectl patch": not supported for custom resources); the server answers 415 with the
      // types it does take, the message below.
      const strategicOnCustom =
        contentType === 'application/strategic-merge-patch+json' && r.resource in customResourceTypes;
      if (
        strategicOnCustom ||
        (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json')
      ) {
        return send(
          res,
          415,
          status(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          ),
        );
      }
      const merged = mergePatch(structuredClone(current), patch);
      if (r.sub !== 'status' && JSON.stringify(merged.spec) !== JSON.stringify(current.spec))
        merged.metadata.generation = (current.metadata.generation ?? 1) + 1;
      return send(res, 200, update(r.resource, merged));
    }
    return send(
      res,
      405,
      status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
    );
  }

  // --- Job update validation -------------------------------------------------------------
  /**
   * What the real API server refuses when a Job is updated (kubernetes/kubernetes
   * pkg/apis/batch/validation/validation.go: ValidateJobSpecUpdate, validatePodTemplateUpdate;
   * pkg/registry/batch/job/strategy.go allows the scheduling directives to change only while the
   * Job is suspended and has never started). The pod template is immutable except, in that case,
   * its labels, annotations, nodeSelector, tolerations, schedulingGates and node affinity;
   * selector, completionMode, podFailurePolicy, backoffLimitPerIndex, managedBy and successPolicy
   * are immutable, and completions too (an Indexed Job may change it together with parallelism).
   * @returns {{field: string, value: any}[]}
   */
  function jobUpdateErrors(current, next) {
    const errs = [];
    const cs = current.spec ?? {};
    const ns = next.spec ?? {};
    const same = (a, b) => canonical(a ?? null) === canonical(b ?? null);
    const oldT = structuredClone(cs.template ?? {});
    const newT = ns.template ?? {};
    if (cs.suspend === true && !current.status?.startTime) {
      oldT.metadata = { ...oldT.metadata, labels: newT.metadata?.labels, annotations: newT.metadata?.annotations };
      oldT.spec = {
        ...oldT.spec,
        nodeSelector: newT.spec?.nodeSelector,
        tolerations: newT.spec?.tolerations,
        schedulingGates: newT.spec?.schedulingGates,
      };
      const na = newT.spec?.affinity;
      const oa = oldT.spec.affinity;
      if (!na && oa) {
        const { nodeAffinity: _dropped, ...others } = oa;
        oldT.spec.affinity = Object.keys(others).length ? others : undefined;
      } else if (na && !oa) oldT.spec.affinity = { nodeAffinity: na.nodeAffinity };
      else if (na && oa) oldT.spec.affinity = { ...oa, nodeAffinity: na.nodeAffinity };
    }
    const clean = (v) => JSON.parse(JSON.stringify(v ?? {})); // undefined members are absent, as in Go's nil
    if (!same(clean(oldT), clean(newT))) errs.push({ field: 'spec.template', value: newT });
    if (!same(cs.selector, ns.selector)) errs.push({ field: 'spec.selector', value: ns.selector });
    const indexed = ns.completionMode === 'Indexed';
    if (
      !same(cs.completions, ns.completions) &&
      !(indexed && ns.completions !== undefined && ns.completions === ns.parallelism)
    ) {
      errs.push({ field: 'spec.completions', value: ns.completions });
    }
    for (const f of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy']) {
      if (!same(cs[f], ns[f])) errs.push({ field: `spec.${f}`, value: ns[f] });
    }
    return errs;
  }

  /**
   * Sends the 422 of apimachinery's errors.NewInvalid (pkg/api/errors/errors.go) when an update is
   * invalid: message "Job.batch \"name\" is invalid: <errors>", reason Invalid, one cause per field
   * (reason FieldValueInvalid, message "Invalid value: ...: field is immutable"). The real server
   * prints the value as a Go struct; this one prints JSON. Returns true when it answered.
   */
  function rejectInvalidUpdate(res, resource, current, next) {
    if (resource !== 'jobs' || !current) return false;
    const errs = jobUpdateErrors(current, next);
    if (errs.length === 0) return false;
    const bodies = errs.map((e) => `Invalid value: ${JSON.stringify(e.value ?? null)}: field is immutable`);
    const shown = errs.map((e, i) => `${e.field}: ${bodies[i]}`);
    const name = current.metadata.name;
    send(
      res,
      422,
      status(
        422,
        'Invalid',
        `Job.batch "${name}" is invalid: ${shown.length === 1 ? shown[0] : `[${shown.join(', ')}]`}`,
        {
          name,
          group: 'batch',
          kind: 'Job',
          causes: errs.map((e, i) => ({ reason: 'FieldValueInvalid', message: bodies[i], field: e.field })),
        },
      ),
    );
    return true;
  }

  /**
   * Field ownership for server-side apply: object -> leaf path -> the managers that own it.
   * As in the real API server, appliers that set a field to the same value share it; a
   * different value from another owner is a conflict; an update (non-apply) takes it over.
   */
  const owners = new Map();
  const skipPaths = new Set(['apiVersion', 'kind', 'metadata\u0000name', 'metadata\u0000namespace']);

  function leafPaths(value, prefix = [], out = new Map()) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) leafPaths(v, [...prefix, k], out);
    } else if (!skipPaths.has(prefix.join('\u0000'))) {
      out.set(prefix.join('\u0000'), canonical(value));
    }
    return out;
  }

  function valueAt(obj, key) {
    let cur = obj;
    for (const k of key.split('\u0000')) cur = cur?.[k];
    return canonical(cur);
  }

  /** JSON with sorted keys: kubectl sends keys sorted, other clients in their own order. */
  function canonical(value) {
    if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
    if (value && typeof value === 'object')
      return `{${Object.keys(value)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
        .join(',')}}`;
    return JSON.stringify(value);
  }

  const shownPath = (key) => `.${key.split('\u0000').join('.')}`;

  /** Records what a manager set; for apply, returns the conflicts (fields another manager owns with another value). */
  function claimFields(resource, key, manager, patch, current, { apply, force, dryRun }) {
    const table = owners.get(`${resource}:${key}`) ?? new Map();
    owners.set(`${resource}:${key}`, table);
    const conflicts = [];
    const leaves = leafPaths(patch);
    for (const [path, value] of leaves) {
      const others = [...(table.get(path) ?? [])].filter((m) => m !== manager);
      if (apply && !force && others.length && current && valueAt(current, path) !== value)
        conflicts.push({ path: shownPath(path), owner: others[0] });
    }
    if (conflicts.length === 0 && !dryRun) {
      for (const [path, value] of leaves) {
        const same = current && valueAt(current, path) === value;
        const set = apply && same ? new Set(table.get(path) ?? []) : new Set();
        set.add(manager);
        table.set(path, set);
      }
    }
    return conflicts;
  }

  // --- /scale ------------------------------------------------------------------------------
  function scaleOf(d) {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: d.metadata.name,
        namespace: d.metadata.namespace,
        resourceVersion: d.metadata.resourceVersion,
        uid: d.metadata.uid,
      },
      spec: { replicas: d.spec.replicas ?? 1 },
      status: {
        replicas: d.status?.replicas ?? 0,
        selector: Object.entries(d.spec.selector?.matchLabels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      },
    };
  }

  async function scale(req, res, current, r, notFound) {
    if (!current) return notFound();
    if (req.method === 'GET') return send(res, 200, scaleOf(current));
    if (req.method !== 'PATCH' && req.method !== 'PUT')
      return send(res, 405, status(405, 'MethodNotAllowed', 'method not allowed'));
    const body = JSON.parse(await readBody(req));
    const replicas = body.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      return send(
        res,
        422,
        status(
          422,
          'Invalid',
          `Scale.autoscaling "${current.metadata.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        ),
      );
    }
    const url = new URL(req.url, 'http://fake');
    const manager = url.searchParams.get('fieldManager') ?? 'kubectl';
    claimFields(
      r.resource,
      `${current.metadata.namespace}/${current.metadata.name}`,
      manager,
      { spec: { replicas } },
      current,
      { apply: false },
    );
    const next = structuredClone(current);
    if (next.spec.replicas !== replicas) {
      next.spec.replicas = replicas;
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
      update(r.resource, next);
    }
    return send(res, 200, scaleOf(next));
  }

  // --- /log --------------------------------------------------------------------------------
  /** @type {Map<string, {text: string, time: string}[]>} ns/pod/container -> lines */
  const logs = new Map();
  /** @type {Map<string, Set<(line: {text: string, time: string} | null) => void>>} */
  const logFollowers = new Map();

  function appendLog(namespace, pod, container, text) {
    const key = `${namespace}/${pod}/${container}`;
    const entry = { text, time: new Date().toISOString() };
    const list = logs.get(key) ?? [];
    list.push(entry);
    logs.set(key, list);
    for (const f of logFollowers.get(key) ?? []) f(entry);
  }

  /** Ends the streams of followers (the container terminated or the pod went away). */
  function endLogs(namespace, pod, container) {
    const key = `${namespace}/${pod}/${container}`;
    for (const f of logFollowers.get(key) ?? []) f(null);
    logFollowers.delete(key);
  }

  function streamLog(req, res, pod, query) {
    // Option validation first, as the registry does (pkg/registry/core/pod/rest/log.go calls
    // ValidatePodLogOptions, pkg/apis/core/validation): 422 Invalid before the container is looked at.
    const invalid = [];
    const sinceSeconds = query.get('sinceSeconds');
    if (sinceSeconds !== null && !(Number(sinceSeconds) >= 1))
      invalid.push(`sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
    const tailLines = query.get('tailLines');
    if (tailLines !== null && !(Number(tailLines) >= 0))
      invalid.push(`tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`);
    if (sinceSeconds !== null && query.get('sinceTime') !== null)
      invalid.push('at most one of `sinceTime` or `sinceSeconds` may be specified');
    if (invalid.length)
      return send(
        res,
        422,
        status(422, 'Invalid', `PodLogOptions "${pod.metadata.name}" is invalid: ${invalid.join(', ')}`),
      );
    // Then the container (pod/strategy.go LogLocation → validateContainer), then the kubelet's
    // answers for a missing previous container or one not started, all 400 BadRequest.
    const containers = pod.spec.containers.map((c) => c.name);
    const container = query.get('container') ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container) {
      return send(
        res,
        400,
        status(
          400,
          'BadRequest',
          `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`,
        ),
      );
    }
    if (!containers.includes(container)) {
      return send(
        res,
        400,
        status(400, 'BadRequest', `container ${container} is not valid for pod ${pod.metadata.name}`),
      );
    }
    const cs = pod.status?.containerStatuses?.find((c) => c.name === container);
    const previous = query.get('previous') === 'true';
    if (previous && !(cs?.restartCount > 0)) {
      return send(
        res,
        400,
        status(
          400,
          'BadRequest',
          `previous terminated container "${container}" in pod "${pod.metadata.name}" not found`,
        ),
      );
    }
    if (!cs || (!cs.state?.running && !cs.state?.terminated && !previous)) {
      return send(
        res,
        400,
        status(
          400,
          'BadRequest',
          `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ${cs?.state?.waiting?.reason ?? 'ContainerCreating'}`,
        ),
      );
    }
    const key = `${pod.metadata.namespace}/${pod.metadata.name}/${container}`;
    let lines = logs.get(key) ?? [];
    const since = query.get('sinceSeconds');
    if (since) lines = lines.filter((l) => Date.parse(l.time) >= Date.now() - Number(since) * 1000);
    // sinceTime reaches the kubelet as whole seconds (LogLocation formats it with time.RFC3339),
    // and lines at that time are included.
    const sinceTime = query.get('sinceTime');
    if (sinceTime) lines = lines.filter((l) => Date.parse(l.time) >= Math.floor(Date.parse(sinceTime) / 1000) * 1000);
    const tail = query.get('tailLines');
    if (tail !== null) lines = lines.slice(Math.max(0, lines.length - Number(tail)));
    const timestamps = query.get('timestamps') === 'true';
    const format = (l) => `${timestamps ? `${l.time} ` : ''}${l.text}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const follow = query.get('follow') === 'true';
    // As the API server sends a log (k8s.io/apiserver pkg/endpoints/handlers/responsewriters
    // StreamObject: io.Copy of the kubelet's stream, through a flushwriter only when following,
    // pkg/registry/core/pod/rest/log.go Flush: opts.Follow): followed, each line the kubelet writes
    // is flushed as a chunk of its own; otherwise the log goes out in io.Copy's 32 KiB pieces.
    if (follow) for (const l of lines) res.write(format(l));
    else {
      const body = Buffer.from(lines.map(format).join(''));
      for (let at = 0; at < body.length; at += 32 * 1024) res.write(body.subarray(at, at + 32 * 1024));
    }
    if (!follow || cs.state?.terminated) return res.end();
    const set = logFollowers.get(key) ?? new Set();
    logFollowers.set(key, set);
    const follower = (l) => {
      if (l === null) {
        set.delete(follower);
        res.end();
      } else res.write(format(l));
    };
    set.add(follower);
    req.on('close', () => set.delete(follower));
    api.openWatches.add(() => res.end());
  }

  function strip(obj) {
    const { metadata, ...rest } = obj;
    const { resourceVersion, managedFields, ...meta } = metadata ?? {};
    return { ...rest, metadata: meta };
  }

  /** Control endpoints the fake executables use (the real cluster's containers going up and down). */
  async function control(req, res, path) {
    if (path === '/__fake/down') {
      apiDown = true;
      for (const end of api.openWatches) end();
      for (const n of store.get('nodes').values()) setNodeReady(n.metadata.name, false);
      return send(res, 200, {});
    }
    if (path === '/__fake/up') {
      apiDown = false;
      for (const n of store.get('nodes').values()) later(nodeReadyDelayMs, () => setNodeReady(n.metadata.name, true));
      return send(res, 200, {});
    }
    if (path === '/__fake/images') {
      const body = JSON.parse(await readBody(req));
      for (const listener of api.imageListeners) listener(body.images ?? [], body.ids ?? {});
      return send(res, 200, {});
    }
    return send(res, 404, {});
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, status(500, 'InternalError', String(err?.message ?? err)));
    });
  };
  const certs = options.tls ? fakeApiCertificates() : undefined;
  const server = certs
    ? createTlsServer(
        { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
        onRequest,
      )
    : createServer(onRequest);
  // Over TLS, the fake cluster's own components (fake k3d/docker, the bench) use a plain-HTTP
  // twin of the server, as k3s's components use their own loopback credentials.
  const plainServer = certs ? createServer(onRequest) : undefined;
  for (const srv of [server, plainServer]) {
    srv?.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
  }
  await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  if (plainServer) await new Promise((resolve) => plainServer.listen(0, '127.0.0.1', resolve));
  const portOf = (srv) => {
    const address = srv.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  const url = `${certs ? 'https' : 'http'}://127.0.0.1:${portOf(server)}`;
  const controlUrl = plainServer ? `http://127.0.0.1:${portOf(plainServer)}` : url;

  const api = {
    url,
    /** Plain HTTP to the same state, for the fake cluster's own components and test set-up. */
    controlUrl,
    /** What a kubeconfig needs to reach this server: the cluster and user entries. */
    kubeconfigEntries: certs
      ? { cluster: { server: url, ...tlsKubeconfigEntries(certs).cluster }, user: tlsKubeconfigEntries(certs).user }
      : { cluster: { server: url, 'insecure-skip-tls-verify': true }, user: { token: 'fake-token-do-not-print' } },
    /** Called (asynchronously, like a controller's informer) after every change. */
    onChange: (fn) => listeners.push(fn),
    later,
    requests,
    faults,
    openWatches: new Set(),
    /** metrics.k8s.io: undefined (no metrics-server), 'unavailable', or the usage to serve (see metricsApi). */
    metrics: /** @type {any} */ (undefined),
    /** Called when k3d imports images into the nodes. */
    imageListeners: [],
    /**
     * Holds the nth request from now (of those `match` accepts) open, so a test can interrupt a
     * command in that phase without sleeping: `reached` resolves with the request once it arrives,
     * and it is answered as usual after `release()` (never, if the client cancelled it meanwhile).
     * With `answerLost`, the request is carried out first (a create creates) and only its answer is
     * held: what a client sees when the connection goes after the server acted, before it answered.
     * With `exec`, pods/exec connections (pod-exec.mjs) count too: a held one is upgraded and its
     * command started only after `release()` (others leave them alone, so the sweeps' counts hold).
     * @param {number} n
     * @param {(r: {method: string, path: string, query: URLSearchParams}) => boolean} [match]
     * @param {{ answerLost?: boolean, exec?: boolean }} [options]
     */
    holdRequest(n, match = () => true, options = {}) {
      let release = () => {};
      /** @type {(r: any) => void} */
      let reached = () => {};
      const hold = {
        remaining: n,
        match,
        answerLost: Boolean(options.answerLost),
        exec: Boolean(options.exec),
        reached: (r) => reached(r),
        released: new Promise((resolve) => (release = () => resolve('released'))),
      };
      holds.push(hold);
      return {
        reached: new Promise((resolve) => (reached = resolve)),
        release() {
          hold.remaining = 0;
          release();
          holds.splice(holds.indexOf(hold), 1);
        },
      };
    },
    /**
     * pods/exec (pod-exec.mjs): waits while a hold made with `exec` holds this connection; false
     * when the client gave up on it meanwhile (Ctrl-C closes the socket).
     * @param {{method: string, path: string, query: URLSearchParams}} request
     * @param {import('node:net').Socket} socket
     */
    async passExecHolds(request, socket) {
      for (const hold of holds) {
        if (!hold.exec || hold.answerLost || hold.remaining === 0 || !hold.match(request)) continue;
        hold.remaining -= 1;
        if (hold.remaining > 0) continue;
        const closed = new Promise((resolve) => socket.once('close', () => resolve('closed')));
        hold.reached({ method: request.method, path: request.path, query: `?${request.query}` });
        if ((await Promise.race([hold.released, closed])) === 'closed') return false;
      }
      return true;
    },
    /** Objects of one resource type, e.g. api.objects('nodes'). */
    objects: (resource) => [...store.get(resource).values()],
    get: (resource, namespace, name) => store.get(resource).get(`${namespace ?? ''}/${name}`),
    create,
    update,
    /** Per resource: checks a create's body (undefined when valid, else the 422 message) and may fill defaults. */
    admission: /** @type {Record<string, (body: any) => string | undefined>} */ ({}),
    /** Is this resource served now (a custom resource only once installed)? */
    served: (resource) => resource in served,
    /** Installs a CRD from customResourceTypes: discovery lists it and its resource is served. */
    installCustomResource: (resource) => {
      served[resource] = customResourceTypes[resource];
      if (!store.has(resource)) store.set(resource, new Map());
    },
    remove: (resource, namespace, name) => remove(resource, `${namespace ?? ''}/${name}`),
    /** Set to drop the next exec connection once it has received this many stdin bytes (pod-exec.mjs). */
    dropExecAfterBytes: /** @type {number | undefined} */ (undefined),
    /** Set to make the next exec connection go silent after the upgrade (no data, no pongs). */
    silentExec: false,
    /** Claims' directories are root-owned 0755 and fsGroup is not applied (NFS CSI defaults; pod-exec.mjs). */
    rootOwnedVolumes: false,
    /** Set to drop the next exec connection once it has sent this many stdout/stderr bytes. */
    dropExecAfterOutputBytes: /** @type {number | undefined} */ (undefined),
    /** The directory on this machine behind a PersistentVolumeClaim (what pods mounting it see). */
    claimDir: (namespace, claim) => podExec.claimDir(namespace, claim),
    setNodeReady,
    appendLog,
    endLogs,
    logLines: (namespace, pod, container) => (logs.get(`${namespace}/${pod}/${container}`) ?? []).map((l) => l.text),
    /**
     * What the server holds, as plain data: the objects, the revision and uid counters, the event
     * history, the pods' logs and the request log. A test's ready cluster is restored from the
     * state one real `setup` left (test/fakes/sandbox.mjs), instead of every test running setup.
     */
    exportState() {
      return structuredClone({
        store: [...store].map(([r, m]) => [r, [...m]]),
        served: Object.keys(served),
        rv,
        uid,
        compactedRevision,
        history,
        logs: [...logs],
        requests,
      });
    },
    /** Takes over a state from exportState(), before any client has talked to this server. */
    importState(state) {
      for (const resource of state.served) if (!(resource in served)) api.installCustomResource(resource);
      for (const [resource, entries] of state.store) store.set(resource, new Map(entries));
      rv = state.rv;
      uid = state.uid;
      compactedRevision = state.compactedRevision;
      history = state.history;
      for (const [key, lines] of state.logs) logs.set(key, lines);
      requests.splice(0, requests.length, ...state.requests);
    },
    /** Forget old events, as etcd compaction does: watches from before now get 410 Gone. */
    compact() {
      history = [];
      compactedRevision = rv;
    },
    get resourceVersion() {
      return rv;
    },
    get down() {
      return apiDown;
    },
    /** How many requests came, and were dropped, while the API was down. */
    get refusedWhileDown() {
      return refusedWhileDown;
    },
    /** Ends every open watch stream (a dropped connection, as a proxy or API restart causes). */
    dropWatches() {
      for (const end of api.openWatches) end();
    },
    async close() {
      podExec.close();
      for (const t of timers) clearTimeout(t);
      for (const end of api.openWatches) end();
      for (const s of sockets) s.destroy();
      await Promise.all(
        [server, plainServer]
          .filter(Boolean)
          .map((srv) => new Promise((resolve) => srv.close(() => resolve(undefined)))),
      );
    },
  };
  // pods/exec over WebSocket, running the command for real on the pods' volumes (pod-exec.mjs).
  const podExec = attachPodExec(api, [server, plainServer].filter(Boolean));
  return api;
}

/** JSON merge patch (RFC 7386): objects merge, null deletes, everything else replaces. */
/** RFC 6902 add/remove/replace/test on JSON pointers (enough for what keystone and kubectl send). */
export function jsonPatch(doc, ops) {
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    let parent = doc;
    for (const p of parts) {
      parent = parent?.[p];
      if (parent === undefined || parent === null) throw new Error(`path ${op.path} does not exist`);
    }
    if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
        throw new Error(`test operation on ${op.path} failed`);
    } else if (op.op === 'remove') {
      if (!(last in parent)) throw new Error(`path ${op.path} does not exist`);
      delete parent[last];
    } else if (op.op === 'replace') {
      if (!(last in parent)) throw new Error(`replace operation does not apply: doc is missing key: ${op.path}`);
      parent[last] = op.value;
    } else if (op.op === 'add') {
      parent[last] = op.value;
    } else throw new Error(`unsupported operation ${op.op}`);
  }
  return doc;
}

export function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** A kubeconfig (as YAML-compatible JSON) whose one context points at the fake server. */
export function kubeconfigFor(url, contextName, clusterName = contextName) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: `admin@${clusterName}`, user: { token: 'fake-token-do-not-print' } }],
    contexts: [{ name: contextName, context: { cluster: clusterName, user: `admin@${clusterName}` } }],
    'current-context': contextName,
    preferences: {},
  };
}
