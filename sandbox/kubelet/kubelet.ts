import { ApiException, CoreV1Api, type KubeConfig, PatchStrategy, type V1Pod, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { startResilientInformer, type ResilientInformer } from '../../worker/kube/resilient-informer.js';
import { WorkQueue } from '../../worker/kube/work-queue.js';
import type { ClusterTopology } from '../topology.js';
import type { Faults } from './faults.js';
import { CELL_LABEL, nodeManifest, nodeStatus, planNodes, type SimulatedNode } from './nodes.js';
import { decidePodStatus } from './pod-status.js';
import { NodePlacement } from './node-placement.js';
import { makeApiClient } from '../../worker/kube/api-client.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface KubeletOptions {
  cluster: ClusterTopology;
  clusterIndex: number;
  kubeConfig: KubeConfig;
  faults: Faults;
  logger: Logger;
}

/**
 * Plays kubelet (and scheduler) for every node of one cluster: registers the nodes of each cell, binds
 * pending pods to a node of their cell, and reports pod status as a real kubelet would, through the
 * real API server. Containers do not run; their lifecycle is simulated with a configurable latency.
 */
export class SimulatedKubelet {
  readonly nodes: SimulatedNode[];
  private readonly core: CoreV1Api;
  private readonly queue: WorkQueue;
  private informer: ResilientInformer<V1Pod> | undefined;
  private readonly latest = new Map<string, V1Pod>();
  /** Container start times per pod uid, keyed `<container>/<image>/<restarts>`. */
  private readonly startTimes = new Map<string, Map<string, Date>>();
  /**
   * Which node each pod (by uid) is on or was bound to by us (the cache may not show our binding yet, so that
   * concurrent binds spread over nodes), and the pod IPs in use per node. Kept as pods come and go, so that
   * binding a pod and giving it an IP cost the same with 50 pods as with 5,000 (no scan of every pod).
   */
  private readonly placement = new NodePlacement();
  private unsubscribe: () => void = () => undefined;
  private startLatencyMs: number;

  constructor(private readonly opts: KubeletOptions) {
    this.nodes = planNodes(opts.cluster, opts.clusterIndex);
    this.core = makeApiClient(opts.kubeConfig, CoreV1Api);
    this.startLatencyMs = opts.cluster.startLatencyMs;
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: 16,
      onError: (key, err) => opts.logger.debug({ pod: key, err: describe(err) }, 'pod reconcile failed; retrying'),
    });
  }

  async start(): Promise<void> {
    await this.ensureNodes();
    this.unsubscribe = this.opts.faults.onChange(() => {
      void this.ensureNodeStatuses().catch(() => undefined);
      this.resync();
    });
    this.informer = startResilientInformer<V1Pod>(this.opts.kubeConfig, '/api/v1/pods', () => this.core.listPodForAllNamespaces(), {
      onChange: (pod) => this.observe(pod),
      onDelete: (pod) => this.forget(pod),
      onError: (err) =>
        this.opts.logger.debug({ cluster: this.opts.cluster.name, err: describe(err) }, 'pod watch interrupted; restarting'),
    });
    await this.informer.synced;
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    this.queue.stop();
    await this.informer?.stop();
  }

  setStartLatency(ms: number): void {
    this.startLatencyMs = ms;
  }

  /** Re-examines every pod (after a fault changed, or the API server came back). */
  resync(): void {
    for (const key of this.latest.keys()) this.queue.add(key);
  }

  /** Writes node objects and their Ready condition; idempotent. */
  async ensureNodes(): Promise<void> {
    for (const node of this.nodes) {
      try {
        await this.core.createNode({ body: nodeManifest(this.opts.cluster, node) });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) throw err;
      }
    }
    await this.ensureNodeStatuses();
  }

  private async ensureNodeStatuses(): Promise<void> {
    const now = new Date();
    for (const node of this.nodes) {
      await this.core.patchNodeStatus(
        { name: node.name, body: { status: nodeStatus(node, this.opts.faults.isNodeUp(node.name), now) } },
        mergePatch,
      );
    }
  }

  /** A pod as the watch delivers it. */
  private observe(pod: V1Pod): void {
    const key = keyOf(pod);
    const known = this.latest.get(key);
    // never go back to an older version than one our own write returned
    if (known && known.metadata?.uid === pod.metadata?.uid && rv(known) > rv(pod)) return;
    this.latest.set(key, pod);
    this.placement.track(pod);
    this.queue.add(key);
  }

  /**
   * A pod as our own write or read returned it: kept only over an older version of the same pod. Its answer can
   * arrive after the watch delivered the pod's deletion and its successor of the same name (a StatefulSet's
   * replacement); put back, the deleted pod would hide the new one, left unbound for ever.
   */
  private adopt(pod: V1Pod): boolean {
    const key = keyOf(pod);
    const known = this.latest.get(key);
    if (!known || known.metadata?.uid !== pod.metadata?.uid || rv(known) >= rv(pod)) return false;
    this.latest.set(key, pod);
    this.placement.track(pod);
    this.queue.add(key);
    return true;
  }

  private forget(pod: V1Pod): void {
    const key = keyOf(pod);
    this.latest.delete(key);
    this.placement.forget(pod.metadata?.uid ?? '');
    this.startTimes.delete(pod.metadata?.uid ?? '');
  }

  private async reconcile(key: string): Promise<void> {
    const pod = this.latest.get(key);
    if (!pod?.metadata?.name || !pod.metadata.namespace) return;
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      if (!pod.metadata.deletionTimestamp) await this.bind(pod, key);
      return;
    }
    const node = this.nodes.find((n) => n.name === nodeName);
    if (!node) return; // not one of ours
    if (pod.metadata.deletionTimestamp) {
      await this.terminate(pod, node);
      return;
    }
    const uid = pod.metadata.uid ?? '';
    const decision = decidePodStatus(pod, {
      now: new Date(),
      startLatencyMs: this.startLatencyMs,
      nodeUp: this.opts.faults.isNodeUp(node.name),
      isBadImage: this.opts.faults.isBadImage,
      podIP: this.podIP(pod, node),
      hostIP: node.hostIP,
      startedAt: (container, image, restarts) => {
        let times = this.startTimes.get(uid);
        if (!times) this.startTimes.set(uid, (times = new Map()));
        const k = `${container}/${image}/${restarts}`;
        const known = times.get(k);
        if (known) return known;
        const now = new Date();
        times.set(k, now);
        return now;
      },
    });
    if (decision.patch) await this.writeStatus(pod, decision.patch);
    if (decision.requeueAfterMs !== undefined) this.queue.add(key, decision.requeueAfterMs + 5);
  }

  /** Binds a pending pod to the least-loaded running node that matches its node selector (its cell). */
  private async bind(pod: V1Pod, key: string): Promise<void> {
    const selector = pod.spec?.nodeSelector ?? {};
    const candidates = this.nodes.filter((n) => {
      if (!this.opts.faults.isNodeUp(n.name)) return false;
      const labels = nodeManifest(this.opts.cluster, n).metadata.labels as Record<string, string>;
      return Object.entries(selector).every(([k, v]) => labels[k] === v);
    });
    if (candidates.length === 0) {
      this.opts.logger.debug({ pod: key, cell: selector[CELL_LABEL] }, 'no schedulable node for pod; waiting');
      this.queue.add(key, 2_000);
      return;
    }
    const load = (n: SimulatedNode) => this.placement.podsOn(n.name);
    const target = candidates.reduce((best, n) => (load(n) < load(best) ? n : best));
    this.placement.bind(pod.metadata?.uid ?? '', target.name);
    try {
      await this.core.createNamespacedPodBinding({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        body: { metadata: { name: pod.metadata!.name! }, target: { apiVersion: 'v1', kind: 'Node', name: target.name } },
      });
    } catch (err) {
      if (err instanceof ApiException && (err.code === 404 || err.code === 409)) return; // gone, or already bound
      throw err;
    }
  }

  /** Stops the pod's containers (not ready) and deletes it at once, as a kubelet does after the grace period. */
  private async terminate(pod: V1Pod, _node: SimulatedNode): Promise<void> {
    const status = pod.status ?? {};
    const anyReady =
      (status.containerStatuses ?? []).some((cs) => cs.ready) || status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (anyReady) {
      const now = new Date();
      await this.writeStatus(pod, {
        ...status,
        conditions: (status.conditions ?? []).map((c) =>
          c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', lastTransitionTime: now } : c,
        ),
        containerStatuses: (status.containerStatuses ?? []).map((cs) => ({
          ...cs,
          ready: false,
          started: false,
          state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: now } },
        })),
      });
      return; // the status write brings us back here
    }
    if (pod.metadata?.deletionGracePeriodSeconds === 0) return; // already asked; finalizers hold it
    try {
      await this.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } },
      });
    } catch (err) {
      if (err instanceof ApiException && (err.code === 404 || err.code === 409)) return;
      throw err;
    }
  }

  /** Writes the whole status with the pod's resourceVersion as precondition; a 409 is retried from fresh state. */
  private async writeStatus(pod: V1Pod, status: Record<string, unknown>): Promise<void> {
    try {
      const updated = await this.core.patchNamespacedPodStatus(
        {
          name: pod.metadata!.name!,
          namespace: pod.metadata!.namespace!,
          body: { metadata: { resourceVersion: pod.metadata!.resourceVersion }, status },
        },
        mergePatch,
      );
      this.adopt(updated);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return;
      if (err instanceof ApiException && err.code === 409) {
        // someone else wrote the pod meanwhile: decide again at once from its fresh state, or, when the watch has
        // newer news than the read (the pod replaced), shortly from what the watch brings
        const fresh = await this.core.readNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace! });
        if (!this.adopt(fresh)) this.queue.add(keyOf(pod), 200);
        return;
      }
      throw err;
    }
  }

  private podIP(pod: V1Pod, node: SimulatedNode): string {
    if (pod.status?.podIP) return pod.status.podIP;
    const uid = pod.metadata?.uid ?? '';
    const assigned = this.placement.ipOf(uid);
    if (assigned) return assigned;
    for (let host = 2; host < 255; host++) {
      const ip = `${node.podSubnet}.${host}`;
      if (this.placement.assignIP(uid, node.name, ip)) return ip;
    }
    throw new Error(`node ${node.name} has no free pod IP`);
  }
}

function keyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function rv(pod: V1Pod): number {
  return Number(pod.metadata?.resourceVersion ?? 0);
}

function describe(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code}`;
  return err instanceof Error ? err.message : String(err);
}
