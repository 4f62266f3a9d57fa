import type { CoreV1Api } from '@kubernetes/client-node';
import { type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startResilientInformer, type ResilientInformer } from './resilient-informer.js';
import { detachedFromCallers } from './deadlines.js';

import { LABELS } from '../../activities/labels.js';

/** Pods Barista manages carry this label; the shared cache follows only them. */
const MANAGED_SELECTOR = `${LABELS.managedBy}=barista`;

type Listener = (pod: V1Pod | undefined) => void;

/**
 * One list+watch of Barista's pods per cluster, shared by every wait of the worker: a pod step waiting for its
 * pod (drained, upgraded, ready) listens here instead of opening a watch of its own, so a worker with hundreds of
 * pods waiting holds one watch per cluster. Started on first use, stopped with the worker.
 */
export class PodCache {
  private informer: ResilientInformer<V1Pod> | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly anyChange = new Set<() => void>();
  private stopped = false;
  private isSynced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private readonly index = new WorkloadIndex();

  constructor(
    private readonly kc: KubeConfig,
    private readonly core: CoreV1Api,
  ) {}

  /** Calls `listener` with every change of pod `namespace/name` seen from now on (undefined: deleted). */
  subscribe(namespace: string, name: string, listener: Listener): () => void {
    this.ensureStarted();
    const key = `${namespace}/${name}`;
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  /** The pod as the shared watch last saw it (undefined: not seen, or not started yet). */
  get(namespace: string, name: string): V1Pod | undefined {
    return this.informer?.cache.get(name, namespace);
  }

  /**
   * Barista's pods in `namespace` as the shared watch sees them, with every label in `labels`. Asked for an App
   * (and a cell), it reads only that App's (that cell's) pods: a partition step of each of 5,000 pods in a
   * namespace scanned all 5,000.
   */
  list(namespace: string, labels: Record<string, string>): V1Pod[] {
    const cache = this.informer?.cache;
    if (!cache) return [];
    const app = labels[LABELS.app];
    const names = app === undefined ? undefined : this.index.names(namespace, app, labels[LABELS.cell]);
    const pods = names ? names.map((name) => cache.get(name, namespace)).filter((p) => p !== undefined) : cache.list(namespace);
    return pods.filter((p) => Object.entries(labels).every(([k, v]) => p.metadata?.labels?.[k] === v));
  }

  /**
   * Resolves true once the shared watch has seen pod `namespace/name` at `resourceVersion` or later (the cache
   * caught up with a write of ours), false after `timeoutMs`.
   */
  async caughtUp(namespace: string, name: string, resourceVersion: string, timeoutMs: number): Promise<boolean> {
    this.ensureStarted();
    const current = () => !isOlder(this.get(namespace, name)?.metadata?.resourceVersion, resourceVersion);
    if (this.get(namespace, name) && current()) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(ok);
      };
      const unsubscribe = this.subscribe(namespace, name, () => {
        if (this.get(namespace, name) && current()) done(true);
      });
    });
  }

  /** Calls `listener` on every change of any of Barista's pods in the cluster (the unavailability budget's waits). */
  onAnyChange(listener: () => void): () => void {
    this.ensureStarted();
    this.anyChange.add(listener);
    return () => this.anyChange.delete(listener);
  }

  /** The shared watch has listed the cluster's pods at least once. */
  get ready(): boolean {
    return this.isSynced;
  }

  /** Resolves once the shared watch has listed the cluster's pods (at once if it has, or if the cache is stopped). */
  synced(): Promise<void> {
    this.ensureStarted();
    if (this.isSynced || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** How many waits listen now (for tests and metrics). */
  get listening(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /** Whether the shared watch has started (a worker that never waited on this cluster opened none). */
  get started(): boolean {
    return this.informer !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.informer?.stop();
    this.informer = undefined;
    this.index.clear();
  }

  private ensureStarted(): void {
    if (this.informer || this.stopped) return;
    const dispatch = (pod: V1Pod, deleted: boolean) => {
      this.index.update(pod, deleted);
      const set = this.listeners.get(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
      if (set) for (const listener of [...set]) listener(deleted ? undefined : pod);
      for (const listener of [...this.anyChange]) listener();
    };
    // the first wait to listen starts the shared watch: it must not inherit that wait's cancellation
    this.informer = detachedFromCallers(() =>
      startResilientInformer<V1Pod>(
        this.kc,
        '/api/v1/pods',
        () => this.core.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
        {
          onChange: (pod) => dispatch(pod, false),
          onDelete: (pod) => dispatch(pod, true),
          onSynced: () => {
            this.isSynced = true;
            for (const resolve of this.syncWaiters.splice(0)) resolve();
          },
        },
        { labelSelector: MANAGED_SELECTOR },
      ),
    );
  }
}

/**
 * The names of the cached pods per namespace, App and cell (their labels), kept from the cache's own add, update
 * and delete events (a relist's deletions among them). Names only: the pods themselves are read from the cache.
 */
export class WorkloadIndex {
  /** `<namespace>/<app>` → cell → pod names. */
  private readonly byApp = new Map<string, Map<string, Set<string>>>();
  /** `<namespace>/<name>` → where that pod is indexed. */
  private readonly at = new Map<string, { app: string; cell: string }>();

  update(pod: V1Pod, deleted: boolean): void {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const id = `${namespace}/${name}`;
    const was = this.at.get(id);
    const app = deleted ? undefined : pod.metadata?.labels?.[LABELS.app];
    const cell = pod.metadata?.labels?.[LABELS.cell] ?? '';
    if (was && was.app === app && was.cell === cell) return;
    if (was) {
      const cells = this.byApp.get(`${namespace}/${was.app}`);
      cells?.get(was.cell)?.delete(name);
      if (cells?.get(was.cell)?.size === 0) cells.delete(was.cell);
      if (cells?.size === 0) this.byApp.delete(`${namespace}/${was.app}`);
      this.at.delete(id);
    }
    if (app === undefined) return;
    let cells = this.byApp.get(`${namespace}/${app}`);
    if (!cells) this.byApp.set(`${namespace}/${app}`, (cells = new Map()));
    let names = cells.get(cell);
    if (!names) cells.set(cell, (names = new Set()));
    names.add(name);
    this.at.set(id, { app, cell });
  }

  /** Names of the pods of `app` in `namespace` (of its `cell` when given). */
  names(namespace: string, app: string, cell?: string): string[] {
    const cells = this.byApp.get(`${namespace}/${app}`);
    if (!cells) return [];
    if (cell !== undefined) return [...(cells.get(cell) ?? [])];
    return [...cells.values()].flatMap((names) => [...names]);
  }

  clear(): void {
    this.byApp.clear();
    this.at.clear();
  }
}

/**
 * resourceVersion `a` is older than `b`. Both are etcd revisions on the API servers Barista knows (Kubernetes
 * calls them opaque): anything else compares as not older, so a caller never skips an object it cannot order.
 */
export function isOlder(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}
