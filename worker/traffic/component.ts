import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { trafficFinalizer } from '../../domain/index.js';
import { LABELS } from '../../activities/labels.js';
import { startResilientInformer, type ResilientInformer } from '../kube/resilient-informer.js';
import { WorkQueue } from '../kube/work-queue.js';
import { makeApiClient } from '../kube/api-client.js';

const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/** What a traffic component decides for a pod: route to it or not, possibly only after some time. */
export interface RoutingDecision {
  route: boolean;
  /** Decide again after this many ms (a deregistration delay still running). */
  recheckAfterMs?: number;
}

/** The one small interface every traffic component (service, rpc, dns, ...) implements. */
export interface TrafficComponent {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Shared machinery: follows Barista's pods in one cluster and holds the component's finalizer
 * `traffic.barista.dev/<name>` exactly while `decide` says the component routes to the pod. The finalizer
 * is written by server-side apply under the component's own field manager, so components never fight
 * over the finalizer list, and the pod's uid is a precondition.
 */
export class FinalizerController {
  private readonly core: CoreV1Api;
  private readonly queue: WorkQueue;
  private informer: ResilientInformer<V1Pod> | undefined;
  /** Our last write per pod, as the API server returned it. */
  private readonly written = new Map<string, V1Pod>();
  readonly finalizer: string;

  constructor(
    readonly name: string,
    private readonly kc: KubeConfig,
    private readonly decide: (pod: V1Pod) => RoutingDecision,
    private readonly logger: Logger,
  ) {
    this.finalizer = trafficFinalizer(name);
    this.core = makeApiClient(kc, CoreV1Api);
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: 8,
      onError: (key, err) => logger.debug({ pod: key, err: String(err) }, 'finalizer write failed; retrying'),
    });
  }

  async start(): Promise<void> {
    this.informer = startResilientInformer<V1Pod>(
      this.kc,
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces({ labelSelector: `${LABELS.managedBy}=barista` }),
      {
        onChange: (pod) => this.queue.add(keyOf(pod)),
        onDelete: (pod) => this.written.delete(keyOf(pod)),
        onError: (err) => this.logger.debug({ component: this.name, err: String(err) }, 'pod watch interrupted'),
      },
      { labelSelector: `${LABELS.managedBy}=barista` },
    );
    await this.informer.synced;
  }

  async stop(): Promise<void> {
    this.queue.stop();
    await this.informer?.stop();
  }

  /** Re-examines the pods (of `namespace`, those `only` picks) when routing inputs other than the pod changed. */
  resync(namespace?: string, only?: (pod: V1Pod) => boolean): void {
    for (const pod of this.informer?.cache.list(namespace) ?? []) if (!only || only(pod)) this.queue.add(keyOf(pod));
  }

  pods(): readonly V1Pod[] {
    return this.informer?.cache.list() ?? [];
  }

  /**
   * The cache may lag behind our own last write; deciding from it would write the same finalizer again.
   * Use what the API server returned for our write until the cache has caught up.
   */
  private freshest(key: string, cached: V1Pod | undefined): V1Pod | undefined {
    const written = this.written.get(key);
    if (!cached || !written || written.metadata?.uid !== cached.metadata?.uid || version(cached) >= version(written)) {
      this.written.delete(key);
      return cached;
    }
    return written;
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const pod = this.freshest(key, this.informer?.cache.get(name, namespace));
    if (!pod) return;
    const holds = pod.metadata?.finalizers?.includes(this.finalizer) ?? false;
    // a terminating pod is never routed to again: only letting go is allowed
    const decision = pod.metadata?.deletionTimestamp ? { route: false } : this.decide(pod);
    if (decision.recheckAfterMs !== undefined) this.queue.add(key, decision.recheckAfterMs);
    if (decision.route === holds) return;
    const written = await this.core.patchNamespacedPod(
      {
        name,
        namespace,
        fieldManager: `barista-traffic-${this.name}`,
        force: true,
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace, uid: pod.metadata?.uid, finalizers: decision.route ? [this.finalizer] : [] },
        },
      },
      serverSideApply,
    );
    this.written.set(key, written);
    this.logger.debug(
      { component: this.name, pod: key, route: decision.route },
      decision.route ? 'routing to pod' : 'stopped routing to pod',
    );
  }
}

function version(pod: V1Pod): number {
  return Number(pod.metadata?.resourceVersion ?? 0);
}

function keyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}
