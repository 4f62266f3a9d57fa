import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startResilientInformer, type ResilientInformer } from '../../worker/kube/resilient-informer.js';
import { kubeConfigsByContext } from '../../worker/kube/contexts.js';
import { makeApiClient } from '../../worker/kube/api-client.js';

export interface TrafficGeneratorOptions {
  kubeconfig: string;
  clusters: string[];
  namespace: string;
  /** Label selector of the pods that receive traffic (e.g. `barista.dev/app=pay`). */
  selector: string;
  requestsPerSecond: number;
  /** Hard stop, so a forgotten generator cannot run on. */
  maxDurationMs: number;
}

export interface TrafficStats {
  sent: number;
  lost: number;
  /** Requests sent while no pod was routed to at all (not counted as lost: there was nowhere to send them). */
  unroutable: number;
  lostByPod: Record<string, number>;
}

const TRAFFIC_PREFIX = 'traffic.barista.dev/';

/**
 * Sends simulated requests, at a fixed rate, only to pods that some traffic component still routes to
 * (the pod holds at least one `traffic.barista.dev/*` finalizer), picking one at random each time. A request
 * is lost when its pod cannot serve it: a container not running and ready (restarting, starting, stopped)
 * or the pod being deleted. A pod whose traffic gate is False but whose containers run still serves the
 * requests its clients send while they learn of the drain: that is what draining is for.
 */
export class TrafficGenerator {
  private readonly informers: ResilientInformer<V1Pod>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  readonly stats: TrafficStats = { sent: 0, lost: 0, unroutable: 0, lostByPod: {} };

  constructor(private readonly opts: TrafficGeneratorOptions) {}

  static serving(pod: V1Pod): boolean {
    if (pod.metadata?.deletionTimestamp) return false;
    const containers = pod.status?.containerStatuses ?? [];
    return containers.length > 0 && containers.every((c) => c.ready && c.state?.running !== undefined);
  }

  static routed(pod: V1Pod): boolean {
    return (pod.metadata?.finalizers ?? []).some((f) => f.startsWith(TRAFFIC_PREFIX));
  }

  async start(): Promise<void> {
    const contexts = kubeConfigsByContext(this.opts.kubeconfig);
    for (const cluster of this.opts.clusters) {
      const kc = contexts.get(cluster);
      if (!kc) throw new Error(`no context ${cluster} in ${this.opts.kubeconfig}`);
      const core = makeApiClient(kc, CoreV1Api);
      const informer = startResilientInformer<V1Pod>(
        kc,
        `/api/v1/namespaces/${this.opts.namespace}/pods`,
        () => core.listNamespacedPod({ namespace: this.opts.namespace, labelSelector: this.opts.selector }),
        { onChange: () => undefined },
        { labelSelector: this.opts.selector },
      );
      this.informers.push(informer);
      await informer.synced;
    }
    const batchEveryMs = 10;
    const perBatch = Math.max(1, Math.round((this.opts.requestsPerSecond * batchEveryMs) / 1000));
    this.timer = setInterval(() => {
      for (let i = 0; i < perBatch; i++) this.send();
    }, batchEveryMs);
    this.deadline = setTimeout(() => clearInterval(this.timer), this.opts.maxDurationMs);
  }

  async stop(): Promise<TrafficStats> {
    clearInterval(this.timer);
    clearTimeout(this.deadline);
    await Promise.all(this.informers.map((i) => i.stop()));
    return this.stats;
  }

  private send(): void {
    const routed = this.informers.flatMap((i) => i.cache.list(this.opts.namespace)).filter(TrafficGenerator.routed);
    this.stats.sent++;
    if (routed.length === 0) {
      this.stats.unroutable++;
      return;
    }
    const pod = routed[Math.floor(Math.random() * routed.length)]!;
    if (!TrafficGenerator.serving(pod)) {
      this.stats.lost++;
      const name = pod.metadata?.name ?? '?';
      this.stats.lostByPod[name] = (this.stats.lostByPod[name] ?? 0) + 1;
    }
  }
}
