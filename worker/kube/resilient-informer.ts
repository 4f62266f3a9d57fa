import {
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
  type Informer,
  type ObjectCache,
} from '@kubernetes/client-node';

export type CachedInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface ResilientInformer<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  /** Resolves after the first successful list. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A list+watch cache that keeps going: client-node's informer stops on any error (API server restarting,
 * cluster unreachable), so this one restarts it with capped backoff until `stop()`.
 */
export function startResilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: ListPromise<T>,
  handlers: {
    onChange: (obj: T) => void;
    onDelete?: (obj: T) => void;
    onError?: (err: unknown) => void;
    /** After each successful (re)list and watch: the cache is current again. */
    onConnect?: () => void;
  },
  opts: { labelSelector?: string; maxBackoffMs?: number } = {},
): ResilientInformer<T> {
  const informer = makeInformer(kc, path, list, opts.labelSelector) as CachedInformer<T>;
  let stopped = false;
  let backoff = 250;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  informer.on('add', handlers.onChange);
  informer.on('update', handlers.onChange);
  informer.on('delete', handlers.onDelete ?? (() => undefined));
  informer.on('connect', () => {
    backoff = 250;
    handlers.onConnect?.();
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
    try {
      await informer.start();
      markSynced();
    } catch (err) {
      restart(err);
    }
  };
  informer.on('error', restart);
  void begin();
  return {
    cache: informer,
    synced,
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
}
