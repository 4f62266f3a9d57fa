import { Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import type { ClusterClient } from './clusters.js';

/** What a predicate says about a pod: done, or why not yet (shown in heartbeats and timeout messages). */
export type PodVerdict = { done: true } | { done: false; waitingFor: string };

export class WaitTimeout extends Error {
  constructor(readonly waitingFor: string) {
    super(waitingFor);
    this.name = 'WaitTimeout';
  }
}

/**
 * Waits until `verdict(pod)` is done, following the pod with a watch (re-established when it ends) and
 * heartbeating progress to Temporal. Rejects with WaitTimeout at `deadline`, carrying what it still
 * waited for. A missing pod is passed as undefined (it may be being recreated).
 */
export async function awaitPod(
  client: ClusterClient,
  namespace: string,
  name: string,
  verdict: (pod: V1Pod | undefined) => PodVerdict,
  opts: { deadline: number; step: string; known?: V1Pod },
): Promise<V1Pod | undefined> {
  let waitingFor = 'first observation';
  const heartbeat = () => heartbeatSafe({ pod: name, step: opts.step, waitingFor });
  let known = opts.known;
  for (;;) {
    // always observe once, even with a deadline already due: a step that is already done must pass.
    // The first observation may be the pod as the caller's own write returned it (one read fewer).
    const pod = known ?? (await readPod(client, namespace, name));
    known = undefined;
    const v = verdict(pod);
    if (v.done) return pod;
    waitingFor = v.waitingFor;
    if (Date.now() >= opts.deadline) throw new WaitTimeout(waitingFor);
    heartbeat();
    const result = await watchUntil(client.kc, namespace, name, pod?.metadata?.resourceVersion, verdict, opts.deadline, (w) => {
      waitingFor = w;
      heartbeat();
    });
    if (result.done) return result.pod;
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

/** One watch session: resolves when the verdict is done, the watch ends, or the deadline passes. */
function watchUntil(
  kc: KubeConfig,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  verdict: (pod: V1Pod | undefined) => PodVerdict,
  deadline: number,
  onProgress: (waitingFor: string) => void,
): Promise<{ done: true; pod: V1Pod | undefined } | { done: false }> {
  return new Promise((resolve) => {
    let settled = false;
    let request: AbortController | undefined;
    const finish = (value: { done: true; pod: V1Pod | undefined } | { done: false }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(beat);
      cancelled?.removeEventListener('abort', onCancel);
      request?.abort();
      resolve(value);
    };
    // the watch is bounded: it ends at the deadline, and is renewed every 30 s so a silent stream cannot stall us
    const timer = setTimeout(() => finish({ done: false }), Math.max(0, Math.min(deadline - Date.now(), 30_000)));
    const beat = setInterval(() => onProgress(lastWaiting), 5_000);
    let lastWaiting = 'watch';
    const cancelled = cancellation();
    const onCancel = () => finish({ done: false });
    cancelled?.addEventListener('abort', onCancel);
    new Watch(kc)
      .watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { fieldSelector: `metadata.name=${name}`, ...(resourceVersion ? { resourceVersion } : {}), allowWatchBookmarks: true },
        (type, obj: V1Pod) => {
          if (type === 'BOOKMARK' || type === 'ERROR') return;
          const v = verdict(type === 'DELETED' ? undefined : obj);
          if (v.done) return finish({ done: true, pod: type === 'DELETED' ? undefined : obj });
          lastWaiting = v.waitingFor;
          onProgress(v.waitingFor);
        },
        () => finish({ done: false }),
      )
      .then(
        (r) => {
          request = r;
          if (settled) r.abort();
        },
        () => finish({ done: false }),
      );
  });
}

function cancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

function heartbeatSafe(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not running inside an activity (direct calls in tests)
  }
}
