import {
  ListWatch,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type Informer,
  type ObjectCache,
} from '@kubernetes/client-node';
import { withKubeSignal } from './deadlines.js';
import { DeadlineWatch } from './watch.js';

export type CachedInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface ResilientInformer<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  /** Resolves after the first successful list. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A list+watch cache that keeps going: client-node's informer stops on any error (API server restarting,
 * cluster unreachable), so this one restarts it with capped backoff until `stop()`. Its list goes through
 * `list` (give it a client from `makeApiClient`: the list has a deadline) and its watch is a DeadlineWatch, so
 * a frozen API server ends the watch (an error: the cache may be stale) instead of leaving it silent.
 */
export function startResilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: ListPromise<T>,
  handlers: {
    onChange: (obj: T) => void;
    onDelete?: (obj: T) => void;
    onError?: (err: unknown) => void;
    /** After each (re)start whose list and watch succeeded: the cache is current again. */
    onSynced?: () => void;
  },
  opts: { labelSelector?: string; maxBackoffMs?: number } = {},
): ResilientInformer<T> {
  const informer = new ListWatch<T>(path, new DeadlineWatch(kc), list, false, opts.labelSelector);
  let stopped = false;
  // ends every list and watch of this informer on stop(), also one still connecting (ListWatch.stop() only
  // aborts a watch it already holds)
  const lifetime = new AbortController();
  let backoff = 250;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  informer.on('add', handlers.onChange);
  informer.on('update', handlers.onChange);
  informer.on('delete', handlers.onDelete ?? (() => undefined));
  informer.on('connect', () => {
    backoff = 250;
  });
  const restart = (err: unknown) => {
    if (stopped) return;
    handlers.onError?.(err);
    const wait = backoff;
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 5_000);
    setTimeout(() => void begin(), wait).unref();
  };
  const begin = async () => {
    if (stopped) return;
    // client-node reports a failed list as an 'error' event and still resolves start()
    let failed = false;
    const noteFailure = () => (failed = true);
    informer.on('error', noteFailure);
    try {
      await withKubeSignal(lifetime.signal, () => informer.start());
    } catch (err) {
      failed = true;
      restart(err);
    } finally {
      informer.off('error', noteFailure);
    }
    markSynced(); // resolves once, even on failure, so that a cluster down at start-up does not block callers
    if (!failed && !stopped) handlers.onSynced?.();
  };
  informer.on('error', restart);
  void begin();
  return {
    cache: informer,
    synced,
    stop: async () => {
      stopped = true;
      lifetime.abort();
      await informer.stop();
    },
  };
}
