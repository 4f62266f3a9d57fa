import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { callerSignal, withKubeSignal } from '../worker/kube/deadlines.js';
import { isOlder, type PodCache } from '../worker/kube/pod-cache.js';
import { LABELS } from './labels.js';
import { DeadlineWatch } from '../worker/kube/watch.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import type { ClusterClient } from './clusters.js';

/**
 * What a predicate says about a pod: done, or why not yet (shown in heartbeats and timeout messages) and,
 * optionally, a deadline of its own (`until`, epoch ms) earlier than the wait's: a traffic component held to
 * its own deregistration timeout.
 */
export type PodVerdict = { done: true } | { done: false; waitingFor: string; until?: number };

export class WaitTimeout extends Error {
  constructor(readonly waitingFor: string) {
    super(waitingFor);
    this.name = 'WaitTimeout';
  }
}

/**
 * A watch session on one pod lasts this long (the server ends it; we do, a few seconds later, if it does not),
 * then the pod is read again and the watch renewed. A silent watch is how a frozen API server looks, so this
 * bounds how late a wait notices one: the read after the session fails within its request deadline.
 */
export const POD_WATCH_SESSION_SECONDS = 10;
const SESSION_GRACE_MS = 3_000;

/**
 * Waits until `verdict(pod)` is done, following the pod with a watch (renewed every POD_WATCH_SESSION_SECONDS)
 * and reporting what it waits for through `onProgress` (the caller heartbeats it). Rejects with WaitTimeout at
 * `deadline`, or at the verdict's own `until`, carrying what it still waited for. A missing pod is passed as
 * undefined (it may be being recreated). Every read and watch has a deadline and ends with the caller's
 * `withKubeSignal` scope or activity attempt.
 */
export async function awaitPod(
  client: ClusterClient,
  namespace: string,
  name: string,
  verdict: (pod: V1Pod | undefined) => PodVerdict,
  opts: { deadline: number; known?: V1Pod; onProgress?: (waitingFor: string) => void },
): Promise<V1Pod | undefined> {
  let known = opts.known;
  for (;;) {
    // always observe once, even with a deadline already due: a step that is already done must pass.
    // The first observation may be the pod as the caller's own write returned it (one read fewer).
    const pod = known ?? (await readPod(client, namespace, name));
    known = undefined;
    const v = verdict(pod);
    if (v.done) return pod;
    if (Date.now() >= Math.min(opts.deadline, v.until ?? Infinity)) throw new WaitTimeout(v.waitingFor);
    opts.onProgress?.(v.waitingFor);
    const since = Date.now();
    const session = { deadline: opts.deadline, until: v.until, onProgress: opts.onProgress };
    // the worker's shared watch when it follows this pod (Barista's label); a watch of its own otherwise
    const shared = client.pods && (!pod || pod.metadata?.labels?.[LABELS.managedBy] === 'barista') ? client.pods : undefined;
    const result = shared
      ? await listenUntil(shared, namespace, name, pod?.metadata?.resourceVersion, verdict, session)
      : await watchUntil(client, namespace, name, pod?.metadata?.resourceVersion, verdict, session);
    if (result.done) return result.pod;
    // a watch refused at once (410 Gone, a proxy in the way): read again, but not in a tight loop
    if (Date.now() - since < 1_000) await new Promise((r) => setTimeout(r, 500));
  }
}

export async function readPod(client: ClusterClient, namespace: string, name: string): Promise<V1Pod | undefined> {
  try {
    return await client.core.readNamespacedPod({ name, namespace });
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    return rethrowKubeError(err, `reading pod ${namespace}/${name}`);
  }
}

/**
 * Why a pod's node cannot run it, as a person would put it, or undefined when the node looks fine (or the pod
 * has none yet): "node rz01a-n0 is NotReady since 2026-11-26T10:00:00Z (NodeStatusUnknown: Kubelet stopped
 * posting node status.)", "node rz01a-n0 does not exist".
 */
export async function describeNodeTrouble(client: ClusterClient, pod: V1Pod | undefined): Promise<string | undefined> {
  const nodeName = pod?.spec?.nodeName;
  if (!nodeName) return undefined;
  let node: V1Node;
  try {
    node = await client.core.readNode({ name: nodeName });
  } catch (err) {
    if (isStatus(err, 404)) return `node ${nodeName} does not exist`;
    throw err;
  }
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True' && !node.spec?.unschedulable) return undefined;
  if (ready?.status === 'True') return `node ${nodeName} is cordoned (unschedulable)`;
  const since = ready?.lastTransitionTime ? ` since ${new Date(ready.lastTransitionTime).toISOString()}` : '';
  const why = [ready?.reason, ready?.message].filter(Boolean).join(': ');
  return `node ${nodeName} is NotReady${since}${why ? ` (${why})` : ''}`;
}

/** How one session (on the shared cache, or a watch) ends: with the pod the verdict passed, or not yet. */
type SessionEnd = { done: true; pod: V1Pod | undefined } | { done: false };
interface SessionOptions {
  deadline: number;
  until: number | undefined;
  onProgress: ((waitingFor: string) => void) | undefined;
}

/**
 * One session on the shared cache: resolves when the verdict is done, after POD_WATCH_SESSION_SECONDS (the
 * caller then reads the pod itself: that read is what notices a frozen API server, or a cache lagging behind),
 * when the deadline (the wait's, or the verdict's own) passes, or when the caller's attempt ends. A change older
 * than the pod already seen (the cache catching up) is ignored.
 */
function listenUntil(
  cache: PodCache,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  verdict: (pod: V1Pod | undefined) => PodVerdict,
  { deadline, until, onProgress }: SessionOptions,
): Promise<SessionEnd> {
  return new Promise((resolve) => {
    let seen = resourceVersion;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const signal = callerSignal();
    const finish = (value: SessionEnd) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => finish({ done: false });
    const sessionEnd = Date.now() + POD_WATCH_SESSION_SECONDS * 1000;
    const armDeadline = (until = Infinity) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish({ done: false }), Math.max(0, Math.min(deadline, until, sessionEnd) - Date.now()));
    };
    const observe = (pod: V1Pod | undefined) => {
      if (pod && isOlder(pod.metadata?.resourceVersion, seen)) return;
      if (pod) seen = pod.metadata?.resourceVersion;
      const v = verdict(pod);
      if (v.done) return finish({ done: true, pod });
      armDeadline(v.until);
      onProgress?.(v.waitingFor);
    };
    const unsubscribe = cache.subscribe(namespace, name, observe);
    armDeadline(until);
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) return onAbort();
    // a change the shared watch saw before this wait listened (between the caller's read and now) is not missed
    const cached = cache.get(namespace, name);
    if (cached && isOlder(seen, cached.metadata?.resourceVersion)) observe(cached);
  });
}

/**
 * One watch session: resolves when the verdict is done, the watch ends (the server's session timeout, an
 * error), or the deadline (the wait's, or the verdict's own) passes.
 */
function watchUntil(
  client: ClusterClient,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  verdict: (pod: V1Pod | undefined) => PodVerdict,
  { deadline, until, onProgress }: SessionOptions,
): Promise<SessionEnd> {
  return new Promise((resolve) => {
    const session = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const finish = (value: SessionEnd) => {
      if (session.signal.aborted) return;
      clearTimeout(timer);
      session.abort();
      resolve(value);
    };
    const sessionEnd = Date.now() + POD_WATCH_SESSION_SECONDS * 1000 + SESSION_GRACE_MS;
    const armDeadline = (until = Infinity) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish({ done: false }), Math.max(0, Math.min(deadline, until, sessionEnd) - Date.now()));
    };
    armDeadline(until);
    void withKubeSignal(session.signal, () =>
      new DeadlineWatch(client.kc).watch(
        `/api/v1/namespaces/${namespace}/pods`,
        {
          fieldSelector: `metadata.name=${name}`,
          ...(resourceVersion ? { resourceVersion } : {}),
          allowWatchBookmarks: true,
          timeoutSeconds: POD_WATCH_SESSION_SECONDS,
        },
        (type, obj) => {
          if (type === 'BOOKMARK' || type === 'ERROR') return;
          const pod = type === 'DELETED' ? undefined : (obj as V1Pod);
          const v = verdict(pod);
          if (v.done) return finish({ done: true, pod });
          armDeadline(v.until);
          onProgress?.(v.waitingFor);
        },
        () => finish({ done: false }),
      ),
    );
  });
}
