/**
 * Running a command in a pod's container through the pods/exec subresource over a WebSocket, as
 * `kubectl exec` and `kubectl cp` do: stdin streamed from a Readable, stdout and stderr to
 * Writables with backpressure (nothing is held whole in memory), the command's exit code back.
 *
 * The wire protocol (kubernetes/kubernetes):
 *  - subprotocols v5.channel.k8s.io, then v4.channel.k8s.io
 *    (staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go);
 *  - every message is binary, its first byte the channel: 0 stdin, 1 stdout, 2 stderr, 3 error
 *    (one Status JSON when the command ends: Success, or reason NonZeroExitCode with
 *    details.causes[{reason: ExitCode, message: "<code>"}]), 4 resize; v5 adds 255 = CLOSE,
 *    [255, channel], the half-close kubectl sends when stdin ends
 *    (staging/src/k8s.io/client-go/tools/remotecommand/websocket.go, stream.Close);
 *  - the server may send an empty message on a channel first, to say it is ready;
 *  - a request refused before the upgrade (pod missing, no node yet, unknown container, the
 *    kubelet's `container not found`) is a plain HTTP answer: a Status, or text from the kubelet.
 * v4 has no CLOSE: after stdin ends the command must stop by itself (tar does, at the archive's
 * end-of-archive blocks), which is why kubectl itself sends stdin only over v5
 * (staging/src/k8s.io/kubectl/pkg/cmd/exec/exec.go uses NewWebSocketExecutor: v5 only, SPDY otherwise).
 */
import type { Readable, Writable } from 'node:stream';
import { KeystoneError } from '../errors.js';
import { KubeApiError, type KubeClient, type KubeStatus } from './client.js';

export const execProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export type ExecProtocol = (typeof execProtocols)[number];

const channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, close: 255 } as const;

export interface PodExecSpec {
  namespace: string;
  pod: string;
  container?: string;
  /** argv, never a shell line: each element is one `command` parameter. */
  command: string[];
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  signal?: AbortSignal;
  /** Offer only these subprotocols (tests use it to speak v4). */
  protocols?: readonly ExecProtocol[];
  /** Ping period and how long silence means a lost connection (tests shorten them). */
  heartbeat?: { pingMs: number; deadMs: number };
}

/**
 * client-go's exec heartbeat (staging/src/k8s.io/client-go/tools/remotecommand/websocket.go:
 * pingPeriod 5 s, pingReadDeadline pingPeriod*12 + 1 s): a half-open connection fails instead of
 * hanging for ever, and the pings keep idle-timeout proxies from cutting a silent command.
 */
export const execHeartbeat = { pingMs: 5_000, deadMs: 61_000 } as const;

export interface PodExecResult {
  exitCode: number;
  protocol: ExecProtocol;
}

/** The exec could not run or did not finish (not a non-zero exit, which is a result). */
export class PodExecError extends KeystoneError {}

/** metav1.Status as the error channel carries it (a StatusCause's type is the JSON key "reason"). */
interface ExecStatus {
  status?: string;
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/** The exit code a v4/v5 error-channel Status carries; undefined when it is an error, not an exit. */
export function exitCodeOf(status: ExecStatus): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : undefined;
}

/**
 * Runs the command and resolves with its exit code once the server has sent it. Never ends the
 * caller's stdout/stderr (end them and wait for 'finish' to know the data is on disk).
 */
export async function execInPod(client: KubeClient, spec: PodExecSpec): Promise<PodExecResult> {
  const { default: WebSocket } = await import('ws');
  const path = `/api/v1/namespaces/${encodeURIComponent(spec.namespace)}/pods/${encodeURIComponent(spec.pod)}/exec`;
  const { url, options } = client.connectionFor(path, {
    command: spec.command,
    container: spec.container,
    stdin: spec.stdin ? true : undefined,
    stdout: true,
    stderr: true,
  });
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (spec.signal?.aborted) throw new PodExecError('interrupted before the command started', { exitCode: 130 });

  return new Promise<PodExecResult>((resolve, reject) => {
    const ws = new WebSocket(url, [...(spec.protocols ?? execProtocols)], { ...options, perMessageDeflate: false });
    let statusText = '';
    let settled = false;
    const outputs = new Map<number, Writable | undefined>([
      [channel.stdout, spec.stdout],
      [channel.stderr, spec.stderr],
    ]);
    const paused = new Set<Writable>();

    const beat = spec.heartbeat ?? execHeartbeat;
    let heard = Date.now();
    const hear = () => (heard = Date.now());
    const heartbeat = setInterval(() => {
      // While keystone itself holds the socket (backpressure), silence is not the server's.
      if (paused.size > 0) hear();
      if (Date.now() - heard > beat.deadMs) {
        return finish(
          new PodExecError(
            `the connection to the API server for the command in pod ${spec.pod} went silent for ${beat.deadMs < 1000 ? `${beat.deadMs} ms` : `${Math.round(beat.deadMs / 1000)} s`}`,
            {
              hint: 'the network or the API server dropped it; run the command again (jobs fetch continues where it stopped)',
            },
          ),
        );
      }
      if (ws.readyState === ws.OPEN) ws.ping();
    }, beat.pingMs);
    heartbeat.unref();

    const finish = (err: Error | undefined, result?: PodExecResult) => {
      if (settled) return;
      settled = true;
      clearInterval(heartbeat);
      spec.signal?.removeEventListener('abort', onAbort);
      for (const out of [spec.stdout, spec.stderr]) out?.removeListener('error', onOutputError);
      // The command may end before reading all of stdin (tar stops at its end-of-archive blocks).
      if (spec.stdin && !spec.stdin.readableEnded) spec.stdin.destroy();
      if (err) {
        ws.terminate();
        reject(err);
      } else resolve(result!);
    };
    // A destination that fails (a full disk) ends the exec: its 'drain' would never come.
    const onOutputError = (err: Error) =>
      finish(new PodExecError(`writing the output of the command in pod ${spec.pod}: ${err.message}`));
    for (const out of [spec.stdout, spec.stderr]) out?.once('error', onOutputError);
    const onAbort = () =>
      finish(new PodExecError(`interrupted: the command in pod ${spec.pod} was stopped`, { exitCode: 130 }));
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    // Refused before the upgrade: the API server's Status, or the kubelet's text.
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let status: KubeStatus | undefined;
        try {
          const parsed = JSON.parse(text) as KubeStatus;
          if (parsed?.kind === 'Status') status = parsed;
        } catch {
          // the kubelet answers in plain text
        }
        const code = res.statusCode ?? 0;
        finish(
          new KubeApiError(
            code,
            status ?? { kind: 'Status', code, message: text.trim() || `exec in pod ${spec.pod} returned HTTP ${code}` },
            'GET',
            path,
          ),
        );
      });
    });
    ws.on('error', (err) => finish(new PodExecError(`exec in pod ${spec.pod}: ${err.message}`)));

    ws.on('open', () => {
      const protocol = ws.protocol as ExecProtocol;
      if (!execProtocols.includes(protocol))
        return finish(
          new PodExecError(
            `the API server answered exec with subprotocol "${protocol}"; keystone speaks ${execProtocols.join(', ')}`,
          ),
        );
      if (spec.stdin) void sendStdin(spec.stdin, protocol);
    });

    const sendStdin = async (input: Readable, protocol: ExecProtocol) => {
      try {
        for await (const chunk of input) {
          if (settled) return;
          const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          // Each frame waits until the socket took it: a slow cluster slows the reader down.
          await new Promise<void>((ok, fail) =>
            ws.send(Buffer.concat([Buffer.of(channel.stdin), data]), (err) => (err ? fail(err) : ok())),
          );
        }
        if (settled) return;
        if (protocol === 'v5.channel.k8s.io') ws.send(Buffer.of(channel.close, channel.stdin));
      } catch (err) {
        finish(
          new PodExecError(
            `the exec in pod ${spec.pod} lost its connection while sending input (${(err as Error).message})`,
            { hint: 'the pod may have been deleted or the connection dropped; try again' },
          ),
        );
      }
    };

    ws.on('pong', hear);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      hear();
      if (!isBinary || data.length === 0) return;
      const id = data[0]!;
      const payload = data.subarray(1);
      if (id === channel.error) {
        statusText += payload.toString('utf8');
        return;
      }
      if (id === channel.close) return; // the server half-closed an output: the socket's close follows
      const out = outputs.get(id);
      if (!out || payload.length === 0) return;
      // Backpressure: stop reading the socket until the destination drains.
      if (!out.write(payload) && !paused.has(out)) {
        paused.add(out);
        ws.pause();
        out.once('drain', () => {
          paused.delete(out);
          if (paused.size === 0) ws.resume();
        });
      }
    });

    ws.on('close', (code, reason) => {
      const protocol = ws.protocol as ExecProtocol;
      if (!statusText) {
        return finish(
          new PodExecError(
            `the exec in pod ${spec.pod} ended without an exit status (WebSocket close ${code}${reason.length ? `: ${reason.toString()}` : ''})`,
            { hint: 'the pod may have been deleted or the connection dropped; try again' },
          ),
        );
      }
      let status: ExecStatus;
      try {
        status = JSON.parse(statusText) as ExecStatus;
      } catch {
        return finish(
          new PodExecError(`the exec in pod ${spec.pod} ended with an unreadable status: ${statusText.slice(0, 200)}`),
        );
      }
      const exitCode = exitCodeOf(status);
      if (exitCode === undefined)
        return finish(
          new PodExecError(`exec in pod ${spec.pod} failed: ${status.message ?? status.reason ?? 'unknown error'}`),
        );
      finish(undefined, { exitCode, protocol });
    });
  });
}
