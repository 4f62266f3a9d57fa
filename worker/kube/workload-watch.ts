import type { AppsV1Api, KubeConfig, V1StatefulSet } from '@kubernetes/client-node';
import { LABELS } from '../../activities/labels.js';
import { detachedFromCallers } from './deadlines.js';
import { startResilientInformer, type ResilientInformer } from './resilient-informer.js';

const MANAGED_SELECTOR = `${LABELS.managedBy}=barista`;

/**
 * One watch of Barista's StatefulSets per cluster, shared by every pod step that waits for a workload's
 * controller to catch up (its update revision, its count of moved pods). It only says when to read the workload
 * again: the steps still read it from the API server before they act, so a watch that lags or is down makes
 * them slower, never wrong. Without it each waiting pod re-read its StatefulSet every 250 ms: with 1,000 pods
 * in flight that was thousands of reads a second, starving the controller they waited for.
 */
export class WorkloadWatch {
  private informer: ResilientInformer<V1StatefulSet> | undefined;
  private readonly listeners = new Map<string, Set<() => void>>();
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly apps: AppsV1Api,
  ) {}

  /**
   * Resolves true once StatefulSet `namespace/name`, as the shared watch sees it, satisfies `ready`; false after
   * `timeoutMs` (the watch lagging, down, or the workload not there yet): the caller reads it itself then.
   */
  until(namespace: string, name: string, ready: (set: V1StatefulSet) => boolean, timeoutMs: number): Promise<boolean> {
    this.ensureStarted();
    const check = () => {
      const set = this.informer?.cache.get(name, namespace);
      return set !== undefined && ready(set);
    };
    if (check()) return Promise.resolve(true);
    const key = `${namespace}/${name}`;
    return new Promise((resolve) => {
      const listener = () => {
        if (check()) done(true);
      };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        const set = this.listeners.get(key);
        set?.delete(listener);
        if (set?.size === 0) this.listeners.delete(key);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      let set = this.listeners.get(key);
      if (!set) this.listeners.set(key, (set = new Set()));
      set.add(listener);
    });
  }

  /** How many waits listen now (for tests). */
  get listening(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
    this.informer = undefined;
  }

  private ensureStarted(): void {
    if (this.informer || this.stopped) return;
    const changed = (set: V1StatefulSet) => {
      for (const listener of [...(this.listeners.get(`${set.metadata?.namespace}/${set.metadata?.name}`) ?? [])]) listener();
    };
    // the first wait to listen starts the shared watch: it must not inherit that wait's cancellation
    this.informer = detachedFromCallers(() =>
      startResilientInformer<V1StatefulSet>(
        this.kc,
        '/apis/apps/v1/statefulsets',
        () => this.apps.listStatefulSetForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
        { onChange: changed },
        { labelSelector: MANAGED_SELECTOR },
      ),
    );
  }
}
