// pods/exec for the fake API server, over WebSocket with the real framing, running the requested
// command for real (tar, sh, sha256sum...) on this machine with the pod's volume mounts mapped to
// real directories: each PersistentVolumeClaim has a backing directory under a temp dir (removed
// when the claim is deleted, as a Delete reclaim policy does), so what a helper pod writes into a
// claim is really there for the next pod, and for the test to read.
//
// Protocol (kubernetes/kubernetes): subprotocols v5.channel.k8s.io / v4.channel.k8s.io
// (apimachinery/pkg/util/remotecommand/constants.go); each binary message starts with its channel:
// 0 stdin, 1 stdout, 2 stderr, 3 error (the closing Status), 4 resize; v5's 255 = [255, ch] CLOSE.
// Before the upgrade the API server refuses as pkg/registry/core/pod/strategy.go streamLocation
// does: 404 for a missing pod, 400 "a container name must be specified", "container X is not
// valid for pod Y", "pod X does not have a host assigned". A container that is not running is the
// kubelet's answer, `container not found ("x")`: over v4 the API server proxies the kubelet's
// plain-text HTTP 500 (pkg/kubelet/cri/streaming/errors.go WriteError); over v5 the API server's
// stream translator (apiserver/pkg/util/proxy/streamtranslator.go) has already upgraded, and sends
// it as an InternalError Status on the error channel.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

const v5 = 'v5.channel.k8s.io';
const v4 = 'v4.channel.k8s.io';

function statusOf(code, reason, message) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** Answers an upgrade request with plain HTTP and closes the socket. */
function refuse(socket, code, body, contentType = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const phrase =
    { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[code] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${code} ${phrase}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/**
 * @param {any} api the fake API server (get, requests, onChange, down)
 * @param {import('node:http').Server[]} servers the servers whose upgrades to serve
 */
export function attachPodExec(api, servers) {
  const root = mkdtempSync(join(tmpdir(), 'keystone-fake-volumes-'));
  chmodSync(root, 0o755); // a pod's uid (api.rootOwnedVolumes) must reach the volumes below
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(v5) ? v5 : offered.has(v4) ? v4 : false),
  });
  /** Running exec sessions per pod (ns/name), ended when the pod goes away. */
  const sessions = new Map();

  const claimDir = (ns, claim) => join(root, 'claims', ns, claim);

  api.onChange((resource, type, obj) => {
    // The provisioner's Delete reclaim policy: the volume's data goes with its claim.
    if (resource === 'persistentvolumeclaims' && type === 'DELETED')
      rmSync(claimDir(obj.metadata.namespace, obj.metadata.name), { recursive: true, force: true });
    if (resource === 'pods' && type === 'DELETED')
      for (const end of sessions.get(`${obj.metadata.namespace}/${obj.metadata.name}`) ?? []) end();
  });

  /** Where each of the container's mounts is on this machine, longest mount path first. */
  function mountsOf(pod, container) {
    const ns = pod.metadata.namespace;
    const out = [];
    for (const m of container.volumeMounts ?? []) {
      const volume = (pod.spec.volumes ?? []).find((v) => v.name === m.name);
      let dir;
      if (volume?.persistentVolumeClaim) {
        dir = claimDir(ns, volume.persistentVolumeClaim.claimName);
        // An NFS-style volume (api.rootOwnedVolumes): kubernetes-csi/csi-driver-nfs makes its
        // directory root-owned 0755 unless the class sets mountPermissions, and a CSIDriver's default
        // fsGroupPolicy (ReadWriteOnceWithFSType) applies no fsGroup to a ReadWriteMany volume. Not
        // root here: 0555 refuses this user the same way.
        if (api.rootOwnedVolumes && !existsSync(dir)) {
          mkdirSync(dir, { recursive: true });
          chmodSync(dir, process.getuid?.() === 0 ? 0o755 : 0o555);
        }
      } else if (volume?.emptyDir) dir = join(root, 'pods', ns, pod.metadata.name, m.name);
      else continue; // other volume types are not backed by this fake
      if (m.subPath) dir = join(dir, m.subPath);
      mkdirSync(dir, { recursive: true });
      out.push({ mountPath: m.mountPath.replace(/\/$/, ''), dir });
    }
    return out.sort((a, b) => b.mountPath.length - a.mountPath.length);
  }

  /** A path inside the container, as a path on this machine (unchanged when no mount holds it). */
  function hostPath(mounts, arg) {
    for (const m of mounts)
      if (arg === m.mountPath || arg.startsWith(`${m.mountPath}/`)) return m.dir + arg.slice(m.mountPath.length);
    return arg;
  }

  async function onUpgrade(req, socket, head) {
    const url = new URL(req.url, 'http://fake');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    if (!m) return refuse(socket, 404, statusOf(404, 'NotFound', 'the server could not find the requested resource'));
    if (api.down) return socket.destroy();
    api.requests.push({ method: req.method, path: url.pathname, query: url.search, at: Date.now() });
    // A test may hold this connection (api.holdRequest with `exec`) to act while it waits.
    if (!(await api.passExecHolds({ method: req.method, path: url.pathname, query: url.searchParams }, socket))) return;
    const [, ns, name] = m.map(decodeURIComponent);
    const q = url.searchParams;
    const pod = api.get('pods', ns, name);
    if (!pod)
      return refuse(socket, 404, {
        ...statusOf(404, 'NotFound', `pods "${name}" not found`),
        details: { name, kind: 'pods' },
      });
    const names = pod.spec.containers.map((c) => c.name);
    const containerName = q.get('container') ?? (names.length === 1 ? names[0] : undefined);
    if (!containerName)
      return refuse(
        socket,
        400,
        statusOf(
          400,
          'BadRequest',
          `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`,
        ),
      );
    const container = pod.spec.containers.find((c) => c.name === containerName);
    if (!container)
      return refuse(
        socket,
        400,
        statusOf(400, 'BadRequest', `container ${containerName} is not valid for pod ${name}`),
      );
    if (!pod.spec.nodeName)
      return refuse(socket, 400, statusOf(400, 'BadRequest', `pod ${name} does not have a host assigned`));
    const command = q.getAll('command');
    const wants = {
      stdin: q.get('stdin') === 'true',
      stdout: q.get('stdout') === 'true',
      stderr: q.get('stderr') === 'true',
    };
    // remotecommand NewOptions (kubelet/cri/streaming/remotecommand/httpstream.go).
    if (!wants.stdin && !wants.stdout && !wants.stderr)
      return refuse(socket, 400, 'you must specify at least 1 of stdin, stdout, stderr', 'text/plain');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const running = pod.status?.containerStatuses?.find((s) => s.name === containerName)?.state?.running;
    const notFound = `container not found (${JSON.stringify(containerName)})`;
    if (!running && !offered.includes(v5)) return refuse(socket, 500, notFound, 'text/plain');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!running) {
        ws.send(
          Buffer.concat([
            Buffer.of(3),
            Buffer.from(
              JSON.stringify(
                statusOf(500, 'InternalError', `Internal error occurred: unable to upgrade connection: ${notFound}`),
              ),
            ),
          ]),
        );
        return ws.close(1000);
      }
      // A connection that goes silent after the upgrade (a laptop asleep, a network change): the
      // server neither reads nor writes, so pings go unanswered (api.silentExec, set by a test).
      if (api.silentExec) {
        api.silentExec = false;
        ws._socket.pause();
        return;
      }
      session(ws, pod, container, command, wants);
    });
  }

  function session(ws, pod, container, command, wants) {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const mounts = mountsOf(pod, container);
    const cwd = container.workingDir ? hostPath(mounts, container.workingDir) : join(root, 'pods', key);
    mkdirSync(cwd, { recursive: true });
    const argv = command.map((a) => hostPath(mounts, a));
    const send = (ch, data, done) =>
      ws.readyState === ws.OPEN ? ws.send(Buffer.concat([Buffer.of(ch), data]), done) : done?.();
    let ended = false;
    let received = 0;
    let sent = 0;
    const end = (status) => {
      if (ended) return;
      ended = true;
      sessions.get(key)?.delete(stop);
      send(3, Buffer.from(JSON.stringify(status)), () => ws.close(1000));
    };
    // With root-owned volumes the command runs as the pod's uid/gid (possible when this runs as root), as the container would.
    const sc = pod.spec.securityContext ?? {};
    const asPod =
      api.rootOwnedVolumes && process.getuid?.() === 0 && sc.runAsUser
        ? { uid: sc.runAsUser, gid: sc.runAsGroup ?? sc.runAsUser }
        : {};
    // The container's tools (sh, tar, tail, rm...) are this system's own, from /usr/bin and /bin:
    // never the test process's PATH, where a real kubectl, docker or engine may come first.
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env: { PATH: '/usr/bin:/bin', HOME: cwd, LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...asPod,
    });
    const stop = () => {
      child.kill('SIGKILL');
      ws.terminate();
    };
    sessions.set(key, new Set([...(sessions.get(key) ?? []), stop]));
    // The kubelet's "ready" message: an empty frame on the lowest output channel.
    send(1, Buffer.alloc(0));
    child.on('error', (err) => {
      const message =
        err.code === 'ENOENT' ? `exec: ${JSON.stringify(command[0])}: executable file not found in $PATH` : err.message;
      end(
        statusOf(
          500,
          'InternalError',
          `Internal error occurred: error executing command in container: failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: ${message}: unknown`,
        ),
      );
    });
    // Outputs with backpressure: the next chunk is read once the socket took this one.
    for (const [stream, ch, wanted] of [
      [child.stdout, 1, wants.stdout],
      [child.stderr, 2, wants.stderr],
    ]) {
      stream.on('data', (chunk) => {
        if (!wanted) return;
        sent += chunk.length;
        // A connection lost mid-stream (api.dropExecAfterOutputBytes): the kubelet ends the exec, no status.
        if (api.dropExecAfterOutputBytes !== undefined && sent > api.dropExecAfterOutputBytes) {
          api.dropExecAfterOutputBytes = undefined;
          ended = true;
          stream.pause();
          send(ch, chunk, () => stop());
          return;
        }
        stream.pause();
        send(ch, chunk, () => stream.resume());
      });
    }
    child.stdin.on('error', () => undefined); // the command may exit before reading all of stdin (EPIPE)
    // Reading the socket again once the command drained its input, or stopped reading it (tar
    // stops at its end-of-archive blocks): a socket left paused would never see the close frame.
    child.stdin.on('drain', () => ws.resume());
    child.stdin.on('close', () => ws.resume());
    if (!wants.stdin) child.stdin.end();
    ws.on('message', (data, isBinary) => {
      if (!isBinary || data.length === 0) return;
      if (data[0] === 255 && ws.protocol === v5) {
        if (data[1] === 0) child.stdin.end();
        return;
      }
      if (data[0] !== 0 || !wants.stdin) return;
      received += data.length - 1;
      // A connection lost mid-stream (api.dropExecAfterBytes): the kubelet ends the exec, no status.
      if (api.dropExecAfterBytes !== undefined && received > api.dropExecAfterBytes) {
        api.dropExecAfterBytes = undefined;
        ended = true;
        return stop();
      }
      if (child.stdin.writable && !child.stdin.write(data.subarray(1))) ws.pause();
    });
    ws.on('close', () => {
      if (!ended) child.kill('SIGKILL'); // the client went away: the kubelet ends the exec
    });
    child.on('close', (code, signal) => {
      if (code === 0) return end({ metadata: {}, status: 'Success' });
      const exitCode = code ?? 128 + ({ SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 }[signal] ?? 1);
      end({
        metadata: {},
        status: 'Failure',
        message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
      });
    });
  }

  for (const srv of servers)
    srv.on('upgrade', (req, socket, head) => onUpgrade(req, socket, head).catch(() => socket.destroy()));
  return {
    root,
    /** The directory behind a claim (what a pod mounting it reads and writes). */
    claimDir,
    close() {
      for (const set of sessions.values()) for (const stop of set) stop();
      wss.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
