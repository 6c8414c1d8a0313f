/**
 * Logs of one or many pods, interleaved line by line with a short pod prefix. With follow,
 * pods that appear later (a restart, a scale-up) are picked up from a watch, and streaming
 * starts as soon as a container runs or has terminated (not when it is Ready: fast pods skip Ready).
 * A follow outlives API outages: it says when the connection is lost and when it is back, and a
 * stream that was cut resumes after the last line it showed (by the lines' timestamps).
 */
import { KubeUnreachableError, type KubeClient } from '../kube/client.js';
import { systemClock, watchUntil, type Clock } from '../kube/watch-until.js';
import { KeystoneError } from '../errors.js';
import { LineSplitter } from './log-lines.js';
import { shortPodName, type PodSource } from './stack-objects.js';
import { stackNamespace } from '../vocabulary.js';
import type { PodObject } from '../kube/objects.js';
import type { LogSink } from '../ui/line-writer.js';

export { shortPodName };

export interface LogOptions {
  follow: boolean;
  sinceSeconds?: number;
  tail?: number;
  timestamps: boolean;
  previous: boolean;
  container?: string;
  namespace?: string;
  /** The prefix of a pod's lines (default: its short name when several pods are shown). */
  prefix?: (pod: PodObject, container: string) => string | undefined;
  /** When it resolves, no new pods are picked up and streams get a moment to drain, then stop. */
  stopWhen?: Promise<void>;
  /** Sees every pod the follow watch sees (so a caller needs no watch of its own). */
  observe?: (pod: PodObject, deleted: boolean) => void;
  /** Time for the reconnect backoff (tests drive it). */
  clock?: Clock;
}

function containerReady(pod: PodObject, container: string, previous: boolean): 'stream' | 'wait' | 'gone' {
  const cs = pod.status?.containerStatuses?.find((c) => c.name === container);
  if (previous) return cs && (cs.restartCount ?? 0) > 0 ? 'stream' : 'gone';
  if (cs?.state?.running || cs?.state?.terminated) return 'stream';
  return 'wait';
}

export async function followLogs(
  client: KubeClient,
  source: PodSource,
  initial: PodObject[],
  options: LogOptions,
  sink: LogSink,
  signal: AbortSignal,
): Promise<void> {
  const ns = options.namespace ?? stackNamespace;
  const clock = options.clock ?? systemClock;
  const prefixed = source.kind !== 'pod';
  const streaming = new Map<string, Stream>();
  const tasks = new Set<Promise<void>>();
  /** The last state of each pod the follow has seen, by name (to resume cut streams). */
  const seen = new Map<string, PodObject>();

  const containersOf = (pod: PodObject) => {
    const names = (pod.spec?.containers ?? []).map((c) => c.name);
    return options.container ? names.filter((n) => n === options.container) : names;
  };

  // A pod named by the user is asked for as given, so the API's own refusal (no such container,
  // no previous container, not started) is the error, as with kubectl; for a service's pods
  // those are notices about one pod among several.
  const named = source.kind === 'pod';
  const failures: Error[] = [];
  let skipped = 0;
  const skip = (text: string) => {
    skipped++;
    sink.notice(text);
  };
  const watching = new AbortController();

  const start = (pod: PodObject, fromStart: boolean) => {
    const containers = named && options.container ? [options.container] : containersOf(pod);
    if (options.container && containers.length === 0) {
      const names = (pod.spec?.containers ?? []).map((c) => c.name);
      skip(`pod ${pod.metadata?.name} has no container "${options.container}" (containers: ${names.join(', ')})`);
      return;
    }
    for (const container of containers) {
      const key = `${pod.metadata?.name}/${container}`;
      const cs = pod.status?.containerStatuses?.find((c) => c.name === container);
      const restarts = cs?.restartCount ?? 0;
      const current = streaming.get(key);
      let after: string | undefined;
      if (current && current.restarts === restarts) {
        // Streaming, or done with this container: nothing to do. A stream that ended while the
        // container ran was cut (an API restart, an outage): resume after its last line; one
        // that ended near the container's end gets one last look for lines it may have missed.
        if (!current.ended || current.complete || !options.follow) continue;
        if (!cs?.state?.running && !cs?.state?.terminated) continue;
        if (cs.state.terminated) current.complete = true;
        after = current.lastTime ?? '';
      }
      const state = containerReady(pod, container, options.previous);
      if (state === 'gone' && !named) {
        skip(`pod ${pod.metadata?.name} has no previous container "${container}"`);
        continue;
      }
      if (state === 'wait' && (options.follow || !named)) {
        if (!options.follow)
          skip(`pod ${pod.metadata?.name} is not running yet (${waitingReason(pod, container)}); skipped`);
        continue;
      }
      const prefix = options.prefix
        ? options.prefix(pod, container)
        : prefixed
          ? containers.length > 1
            ? `${shortPodName(pod)}/${container}`
            : shortPodName(pod)
          : undefined;
      const controller = new AbortController();
      const entry: Stream = {
        restarts,
        stop: () => controller.abort(),
        ended: false,
        complete: current?.complete ?? false,
        lastTime: current?.lastTime,
        resumes: after !== undefined ? (current?.resumes ?? 0) + 1 : 0,
      };
      const task = streamOne(
        client,
        ns,
        pod.metadata?.name ?? '',
        container,
        options,
        { fromStart, after },
        controller.signal,
        entry,
        (text) => sink.line(prefix, key, text),
        () => sink.ready?.(),
        sink.lines && ((block) => sink.lines?.(prefix, key, block)),
      )
        .catch((err) => {
          if (controller.signal.aborted || signal.aborted) return;
          // While following, an unreachable API is an outage the pod watch reports and outlives.
          if (options.follow && err instanceof KubeUnreachableError) return;
          failures.push(err as Error);
          if (!named) sink.notice(`logs of ${key}: ${(err as Error).message}`);
          entry.complete = true;
        })
        .finally(() => {
          tasks.delete(task);
          entry.ended = true;
          if (!options.follow || controller.signal.aborted || signal.aborted) return;
          const last = seen.get(pod.metadata?.name ?? '');
          if (
            last?.status?.containerStatuses?.find((c) => c.name === container)?.state?.terminated &&
            after !== undefined
          )
            entry.complete = true;
          if (options.previous) entry.complete = true; // the previous container has ended for good
          if (named && allComplete())
            watching.abort(); // kubectl logs -f <pod> ends with its container
          else if (!entry.complete) void resumeSoon(pod.metadata?.name ?? '', entry);
        });
      tasks.add(task);
      streaming.set(key, entry);
    }
  };

  /** A named pod whose every stream has ended with its container: the follow is over. */
  const allComplete = () => {
    const pod = seen.get(source.name);
    if (!pod) return false;
    return containersOf(pod).every((c) => {
      const entry = streaming.get(`${source.name}/${c}`);
      const cs = pod.status?.containerStatuses?.find((x) => x.name === c);
      return entry?.ended && (entry.complete || cs?.state?.terminated);
    });
  };

  /**
   * A cut stream is resumed after a pause that doubles up to 30 s while it keeps being cut; while
   * the pod watch reports the API down, the resume waits for it to answer again instead.
   */
  let apiLost = false;
  const resumeSoon = async (podName: string, entry: Stream) => {
    const pause = Math.min(1000 * 2 ** (entry.resumes ?? 0), 30_000);
    await clock.sleep(pause, watching.signal);
    const pod = seen.get(podName);
    if (!pod || watching.signal.aborted || apiLost) return;
    start(pod, true);
  };

  /** What exit a finished (not interrupted) command gets: logs that could not be read fail it. */
  const verdict = () => {
    if (signal.aborted) return;
    if (named && failures[0]) throw failures[0];
    if (failures.length > 0) {
      throw new KeystoneError(
        `could not read the logs of ${failures.length} container${failures.length === 1 ? '' : 's'} of ${source.kind} ${source.name} (see above)`,
        {
          hint: '`keystone pods` shows the state of each pod',
        },
      );
    }
    if (!options.follow && streaming.size === 0 && skipped > 0) {
      throw new KeystoneError(`no logs to show for ${source.kind} ${source.name} (see above)`, {
        hint: options.previous
          ? "without --previous, the current containers' logs are shown"
          : '`keystone pods` shows the state of each pod; -f waits for them to start',
      });
    }
  };

  for (const pod of initial) {
    seen.set(pod.metadata?.name ?? '', pod);
    start(pod, false);
  }

  if (!options.follow) {
    await Promise.all([...tasks]);
    return verdict();
  }

  const stopAll = () => {
    for (const s of streaming.values()) s.stop();
  };
  const stopWatching = () => watching.abort();
  signal.addEventListener('abort', stopAll);
  signal.addEventListener('abort', stopWatching);
  try {
    let finished = false;
    void options.stopWhen?.then(() => {
      finished = true;
      watching.abort();
    });
    if (named && allComplete()) return verdict();
    await watchPods(
      client,
      ns,
      named ? `metadata.name=${source.name}` : undefined,
      named ? undefined : source.selector,
      (pod) => {
        seen.set(pod.metadata?.name ?? '', pod);
        options.observe?.(pod, false);
        // A named pod is followed from the --tail/--since point; pods that appear later from their start.
        start(pod, !(named && !streaming.size));
      },
      (pod) => {
        seen.delete(pod.metadata?.name ?? '');
        options.observe?.(pod, true);
        for (const container of containersOf(pod)) streaming.get(`${pod.metadata?.name}/${container}`)?.stop();
        if (named) watching.abort(); // the pod is gone: nothing more will come
      },
      (event) => {
        apiLost = event.state === 'lost';
        if (event.state === 'lost')
          sink.notice(`lost the connection to the Kubernetes API (${event.error.message}); retrying`);
        else {
          sink.notice('the Kubernetes API answers again; following on');
          for (const pod of seen.values()) start(pod, true); // streams cut by the outage resume
        }
      },
      watching.signal,
      options.clock,
    );
    if (named) {
      while (tasks.size > 0 && !signal.aborted) await Promise.race([...tasks]);
      return verdict();
    }
    if (finished && !signal.aborted) {
      // Pods that finished between the last event and the end: one list catches them all.
      for (const pod of (
        await client.list<PodObject>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: source.selector })
      ).items) {
        seen.set(pod.metadata?.name ?? '', pod);
        options.observe?.(pod, false);
        start(pod, true);
      }
      // The run is over: its containers have terminated, so their streams end by themselves.
      const grace = new Promise((r) => setTimeout(r, 5000).unref());
      await Promise.race([Promise.allSettled([...tasks]), grace]);
    }
  } finally {
    signal.removeEventListener('abort', stopAll);
    signal.removeEventListener('abort', stopWatching);
    watching.abort(); // ends pending resumes
    stopAll();
    await Promise.allSettled([...tasks]);
  }
}

interface Stream {
  restarts: number;
  stop(): void;
  /** The stream has ended (its container ended, or the connection was cut). */
  ended: boolean;
  /** No more lines will come: the container has terminated and its last lines were read. */
  complete: boolean;
  /** The timestamp of the last line shown (RFC 3339, as the kubelet writes it). */
  lastTime?: string;
  /** How many times in a row this container's stream was resumed without a new line. */
  resumes?: number;
}

function waitingReason(pod: PodObject, container: string): string {
  return (
    pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.waiting?.reason ??
    pod.status?.phase ??
    'Pending'
  );
}

/** "2026-11-25T21:40:02.117Z" → a string that sorts by time whatever the number of fraction digits. */
export function sortableTime(rfc3339: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(rfc3339);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}` : rfc3339;
}

async function streamOne(
  client: KubeClient,
  ns: string,
  pod: string,
  container: string,
  options: LogOptions,
  from: { fromStart: boolean; after?: string },
  signal: AbortSignal,
  entry: Stream,
  emit: (text: string) => void,
  ready: () => Promise<void> | undefined,
  emitBlock?: (lines: string) => void,
): Promise<void> {
  // While following, every line is asked for with its timestamp, so a cut stream can resume
  // after the last line shown (sinceTime, then lines up to that time are skipped: the API may
  // round sinceTime to the second); the timestamp is shown only with --timestamps.
  const stamped = options.follow || options.timestamps;
  const resume = from.after !== undefined;
  const stream = await client.stream({
    path: `/api/v1/namespaces/${ns}/pods/${pod}/log`,
    query: {
      container,
      follow: options.follow ? true : undefined,
      previous: options.previous ? true : undefined,
      timestamps: stamped ? true : undefined,
      // A pod that appears while following is shown from its first line.
      tailLines: from.fromStart || resume ? undefined : options.tail,
      sinceSeconds: from.fromStart || resume ? undefined : options.sinceSeconds,
      sinceTime: resume && from.after ? from.after : undefined,
    },
    signal,
  });
  const skipUpTo = resume && from.after ? sortableTime(from.after) : undefined;
  const splitter = new LineSplitter(
    (line) => {
      if (!stamped) return emit(line);
      const space = line.indexOf(' ');
      const time = space > 0 ? line.slice(0, space) : '';
      if (!/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(time)) return emit(line);
      if (skipUpTo !== undefined && sortableTime(time) <= skipUpTo) return; // shown before the cut
      entry.lastTime = time;
      entry.resumes = 0;
      emit(options.timestamps ? line : line.slice(space + 1));
      // Stamped lines are read one by one (the time of each is kept, to resume after it); the others
      // go out as the blocks they came in, when the sink takes blocks.
    },
    stamped ? undefined : emitBlock,
  );
  try {
    for await (const chunk of stream.body) {
      splitter.push(chunk as Buffer);
      // A full stdout: read no more of this stream until it drains (or the follow is stopped).
      const room = ready();
      if (room) await untilAborted(room, signal);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    splitter.end();
  }
}

/** `wait`, or less if the signal aborts first. */
function untilAborted(wait: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void wait.then(done);
  });
}

/** How long a follow may last: watchUntil needs a deadline, and a timer cannot exceed ~24 days. */
const followLimitMs = 7 * 24 * 3600_000;

/** Watches pods (resumed after drops, relisted on 410, retried through outages) until the signal aborts. */
async function watchPods(
  client: KubeClient,
  ns: string,
  fieldSelector: string | undefined,
  labelSelector: string | undefined,
  onPod: (pod: PodObject) => void,
  onGone: (pod: PodObject) => void,
  onConnection: (event: { state: 'lost'; error: Error } | { state: 'back' }) => void,
  signal: AbortSignal,
  clock?: Clock,
): Promise<void> {
  try {
    await watchUntil<PodObject>({
      client,
      path: `/api/v1/namespaces/${ns}/pods`,
      query: { fieldSelector, labelSelector },
      what: 'pods',
      timeoutMs: followLimitMs,
      signal,
      clock,
      tolerateUnreachable: true,
      observe: (pod, deleted) => (deleted ? onGone(pod) : onPod(pod)),
      onConnection,
      evaluate: () => ({ done: false, progress: '' }),
    });
  } catch (err) {
    if (signal.aborted) return; // stopping is how a follow ends
    throw err;
  }
}
