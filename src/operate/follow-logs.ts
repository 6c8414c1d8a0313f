/**
 * Logs of one or many pods, interleaved line by line with a short pod prefix. With follow,
 * pods that appear later (a restart, a scale-up) are picked up from a watch, and streaming
 * starts as soon as a container runs or has terminated (not when it is Ready: fast pods skip Ready).
 */
import type { KubeClient } from '../kube/client.js';
import { watchUntil } from '../kube/watch-until.js';
import type { PodObject } from '../stack/rollout.js';
import { KeystoneError } from '../errors.js';
import { LineSplitter } from './log-lines.js';
import { shortPodName, stackNamespace, type PodSource } from './stack-objects.js';

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
}

export interface LogSink {
  line(prefix: string | undefined, podKey: string, text: string): void;
  notice(text: string): void;
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
  const prefixed = source.kind !== 'pod';
  const streaming = new Map<string, { restarts: number; stop: () => void; done: Promise<void> }>();
  const tasks = new Set<Promise<void>>();

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

  const start = (pod: PodObject, fromStart: boolean) => {
    const containers = named && options.container ? [options.container] : containersOf(pod);
    if (options.container && containers.length === 0) {
      const names = (pod.spec?.containers ?? []).map((c) => c.name);
      skip(`pod ${pod.metadata?.name} has no container "${options.container}" (containers: ${names.join(', ')})`);
      return;
    }
    for (const container of containers) {
      const key = `${pod.metadata?.name}/${container}`;
      const restarts = pod.status?.containerStatuses?.find((c) => c.name === container)?.restartCount ?? 0;
      const current = streaming.get(key);
      if (current && current.restarts === restarts) continue;
      const state = containerReady(pod, container, options.previous);
      if (state === 'gone' && !named) {
        skip(`pod ${pod.metadata?.name} has no previous container "${container}"`);
        continue;
      }
      if (state === 'wait' && (options.follow || !named)) {
        if (!options.follow) skip(`pod ${pod.metadata?.name} is not running yet (${waitingReason(pod, container)}); skipped`);
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
      const task = streamOne(client, ns, pod.metadata?.name ?? '', container, options, fromStart, controller.signal, (text) => sink.line(prefix, key, text))
        .catch((err) => {
          if (controller.signal.aborted || signal.aborted) return;
          failures.push(err as Error);
          if (!named) sink.notice(`logs of ${key}: ${(err as Error).message}`);
        })
        .finally(() => tasks.delete(task));
      tasks.add(task);
      streaming.set(key, { restarts, stop: () => controller.abort(), done: task });
    }
  };

  /** What exit a finished (not interrupted) command gets: logs that could not be read fail it. */
  const verdict = () => {
    if (signal.aborted) return;
    if (named && failures[0]) throw failures[0];
    if (failures.length > 0) {
      throw new KeystoneError(`could not read the logs of ${failures.length} container${failures.length === 1 ? '' : 's'} of ${source.kind} ${source.name} (see above)`, {
        hint: '`keystone pods` shows the state of each pod',
      });
    }
    if (!options.follow && streaming.size === 0 && skipped > 0) {
      throw new KeystoneError(`no logs to show for ${source.kind} ${source.name} (see above)`, {
        hint: options.previous ? 'without --previous, the current containers\' logs are shown' : '`keystone pods` shows the state of each pod; -f waits for them to start',
      });
    }
  };

  for (const pod of initial) start(pod, false);

  if (!options.follow) {
    await Promise.all([...tasks]);
    return verdict();
  }

  const stopAll = () => {
    for (const s of streaming.values()) s.stop();
  };
  signal.addEventListener('abort', stopAll);
  try {
    if (source.kind === 'pod') {
      // One named pod: follow it until its container ends, as kubectl logs -f does.
      const waiting = initial.filter((p) => containersOf(p).some((c) => containerReady(p, c, false) === 'wait'));
      if (waiting.length > 0) await watchPods(client, ns, `metadata.name=${source.name}`, undefined, (pod) => start(pod, false), () => undefined, signal, () => streaming.size > 0);
      while (tasks.size > 0 && !signal.aborted) await Promise.race([...tasks]);
      return verdict();
    }
    const watching = new AbortController();
    const stopWatching = () => watching.abort();
    signal.addEventListener('abort', stopWatching);
    let finished = false;
    void options.stopWhen?.then(() => {
      finished = true;
      watching.abort();
    });
    await watchPods(
      client,
      ns,
      undefined,
      source.selector,
      (pod) => {
        options.observe?.(pod, false);
        start(pod, true);
      },
      (pod) => {
        options.observe?.(pod, true);
        for (const container of containersOf(pod)) streaming.get(`${pod.metadata?.name}/${container}`)?.stop();
      },
      watching.signal,
      () => false,
    );
    signal.removeEventListener('abort', stopWatching);
    if (finished && !signal.aborted) {
      // Pods that finished between the last event and the end: one list catches them all.
      for (const pod of (await client.list<PodObject>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: source.selector })).items) {
        options.observe?.(pod, false);
        start(pod, true);
      }
      // The run is over: its containers have terminated, so their streams end by themselves.
      const grace = new Promise((r) => setTimeout(r, 5000).unref());
      await Promise.race([Promise.allSettled([...tasks]), grace]);
    }
  } finally {
    signal.removeEventListener('abort', stopAll);
    stopAll();
    await Promise.allSettled([...tasks]);
  }
}

function waitingReason(pod: PodObject, container: string): string {
  return pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.waiting?.reason ?? pod.status?.phase ?? 'Pending';
}

async function streamOne(
  client: KubeClient,
  ns: string,
  pod: string,
  container: string,
  options: LogOptions,
  fromStart: boolean,
  signal: AbortSignal,
  emit: (text: string) => void,
): Promise<void> {
  const stream = await client.stream({
    path: `/api/v1/namespaces/${ns}/pods/${pod}/log`,
    query: {
      container,
      follow: options.follow ? true : undefined,
      previous: options.previous ? true : undefined,
      timestamps: options.timestamps ? true : undefined,
      // A pod that appears while following is shown from its first line.
      tailLines: fromStart ? undefined : options.tail,
      sinceSeconds: fromStart ? undefined : options.sinceSeconds,
    },
    signal,
  });
  const splitter = new LineSplitter(emit);
  try {
    for await (const chunk of stream.body) splitter.push(chunk as Buffer);
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    splitter.end();
  }
}

/** How long a follow may last: watchUntil needs a deadline, and a timer cannot exceed ~24 days. */
const followLimitMs = 7 * 24 * 3600_000;

/** Watches pods (resumed after drops, relisted on 410) until the signal aborts or `until` says so. */
async function watchPods(
  client: KubeClient,
  ns: string,
  fieldSelector: string | undefined,
  labelSelector: string | undefined,
  onPod: (pod: PodObject) => void,
  onGone: (pod: PodObject) => void,
  signal: AbortSignal,
  until: () => boolean,
): Promise<void> {
  try {
    await watchUntil<PodObject>({
      client,
      path: `/api/v1/namespaces/${ns}/pods`,
      query: { fieldSelector, labelSelector },
      what: 'pods',
      timeoutMs: followLimitMs,
      signal,
      tolerateUnreachable: true,
      observe: (pod, deleted) => (deleted ? onGone(pod) : onPod(pod)),
      evaluate: () => ({ done: until(), progress: '' }),
    });
  } catch (err) {
    if (signal.aborted) return; // stopping is how a follow ends
    throw err;
  }
}
