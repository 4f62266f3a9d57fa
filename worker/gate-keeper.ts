import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { FIELD_MANAGER, LABELS, TRAFFIC_READY } from '../activities/labels.js';
import { gateStatus, isDrainMarked } from '../activities/pod-state.js';
import { startResilientInformer, type ResilientInformer } from './kube/resilient-informer.js';
import { kubeConfigsByContext } from './kube/contexts.js';
import { WorkQueue } from './kube/work-queue.js';
import { makeApiClient } from './kube/api-client.js';
import { freshEachTerm, leadPerCluster, processIdentity, type LeaderElectionOptions } from './kube/leader-election.js';

const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/**
 * Opens the traffic gate of pods that appear outside a release (a crash, a lost node): as soon as their
 * containers are ready, and never while a release holds the pod drained (gate closed with the draining reason).
 */
export class GateKeeper {
  private readonly core: CoreV1Api;
  private readonly queue: WorkQueue;
  private informer: ResilientInformer<V1Pod> | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly logger: Logger,
  ) {
    this.core = makeApiClient(kc, CoreV1Api);
    this.queue = new WorkQueue((key) => this.reconcile(key), { concurrency: 8 });
  }

  static shouldOpen(pod: V1Pod): boolean {
    if (!pod.spec?.readinessGates?.some((g) => g.conditionType === TRAFFIC_READY)) return false;
    if (pod.metadata?.deletionTimestamp || isDrainMarked(pod)) return false;
    const containersReady = pod.status?.conditions?.find((c) => c.type === 'ContainersReady')?.status === 'True';
    return containersReady && gateStatus(pod) !== 'True';
  }

  async start(): Promise<void> {
    this.informer = startResilientInformer<V1Pod>(
      this.kc,
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces({ labelSelector: `${LABELS.managedBy}=barista` }),
      { onChange: (pod) => GateKeeper.shouldOpen(pod) && this.queue.add(`${pod.metadata?.namespace}/${pod.metadata?.name}`) },
      { labelSelector: `${LABELS.managedBy}=barista` },
    );
    await this.informer.synced;
  }

  async stop(): Promise<void> {
    this.queue.stop();
    await this.informer?.stop();
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.informer?.cache.get(name, namespace);
    if (!cached || !GateKeeper.shouldOpen(cached)) return;
    // read again: a release may have marked the pod since the cache saw it
    const pod = await this.core.readNamespacedPod({ name, namespace });
    if (!GateKeeper.shouldOpen(pod)) return;
    await this.core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        fieldManager: FIELD_MANAGER,
        // resourceVersion precondition: if a release marked the pod meanwhile, 409 → retry → left alone
        body: {
          metadata: { resourceVersion: pod.metadata?.resourceVersion },
          status: { conditions: [{ type: TRAFFIC_READY, status: 'True', lastTransitionTime: new Date(), reason: 'OpenedByGateKeeper' }] },
        },
      },
      strategicPatch,
    );
    this.logger.info({ pod: key }, 'traffic gate opened for a pod created outside a release');
  }
}

/** Lease of the gate keeper in each cluster: one worker's keeper acts there, the others stand by. */
export const GATE_KEEPER_LEASE = 'barista-gate-keeper';

/**
 * A gate keeper per cluster of a kubeconfig (one context per cluster), each run only while this process holds
 * the cluster's gate-keeper Lease: any number of workers may run, exactly one opens gates in each cluster.
 */
export function startGateKeepers(kubeconfig: string, logger: Logger, election: Partial<LeaderElectionOptions> = {}): Promise<GateKeepers> {
  return startGateKeepersOf(kubeConfigsByContext(kubeconfig), logger, election);
}

export interface GateKeepers {
  stop: () => Promise<void>;
  /** The clusters where this process's keeper holds the Lease now. */
  leading: () => string[];
}

/** The same for the clusters given (a cluster agent: its one cluster). */
export function startGateKeepersOf(
  clusters: Map<string, KubeConfig>,
  logger: Logger,
  election: Partial<LeaderElectionOptions> = {},
): Promise<GateKeepers> {
  return leadPerCluster(
    clusters,
    { lease: GATE_KEEPER_LEASE, identity: processIdentity(), ...election },
    (cluster, kc) => freshEachTerm(() => new GateKeeper(kc, logger.child({ cluster }))),
    logger,
  );
}
