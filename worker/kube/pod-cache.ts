import type { CoreV1Api } from '@kubernetes/client-node';
import { type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startResilientInformer, type ResilientInformer } from './resilient-informer.js';

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
  private stopped = false;

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
    await this.informer?.stop();
    this.informer = undefined;
  }

  private ensureStarted(): void {
    if (this.informer || this.stopped) return;
    const dispatch = (pod: V1Pod, deleted: boolean) => {
      const set = this.listeners.get(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
      if (set) for (const listener of [...set]) listener(deleted ? undefined : pod);
    };
    this.informer = startResilientInformer<V1Pod>(
      this.kc,
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
      { onChange: (pod) => dispatch(pod, false), onDelete: (pod) => dispatch(pod, true) },
      { labelSelector: MANAGED_SELECTOR },
    );
  }
}
