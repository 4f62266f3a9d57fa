import { DiscoveryV1Api, type KubeConfig, type V1EndpointSlice, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { startResilientInformer, type ResilientInformer } from '../../kube/resilient-informer.js';
import { FinalizerController, type TrafficComponent } from '../component.js';
import { makeApiClient } from '../../kube/api-client.js';
import { ServingEndpoints } from './serving-endpoints.js';

/**
 * The Kubernetes Service traffic component: a pod is routed to while its IP is a ready endpoint in an
 * EndpointSlice of some Service (the EndpointSlice controller derives readiness from the pod's Ready
 * condition, which includes Barista's readiness gate). It holds `traffic.barista.dev/service` exactly then.
 */
export class ServiceTrafficComponent implements TrafficComponent {
  readonly name = 'service';
  private readonly controller: FinalizerController;
  private slices: ResilientInformer<V1EndpointSlice> | undefined;
  private readonly endpoints = new ServingEndpoints();

  constructor(
    private readonly kc: KubeConfig,
    private readonly logger: Logger,
  ) {
    this.controller = new FinalizerController(this.name, kc, (pod) => ({ route: this.routed(pod) }), logger);
  }

  async start(): Promise<void> {
    const discovery = makeApiClient(this.kc, DiscoveryV1Api);
    this.slices = startResilientInformer<V1EndpointSlice>(
      this.kc,
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => discovery.listEndpointSliceForAllNamespaces(),
      {
        onChange: (slice) => this.resyncServing(slice, this.endpoints.apply(slice)),
        onDelete: (slice) => this.resyncServing(slice, this.endpoints.remove(slice)),
        onError: (err) => this.logger.debug({ err: String(err) }, 'endpointslice watch interrupted'),
      },
    );
    await this.slices.synced;
    await this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.slices?.stop();
  }

  /** Decides again the pods whose IP a slice event started or stopped routing to. */
  private resyncServing(slice: V1EndpointSlice, changed: Set<string>): void {
    if (changed.size === 0) return;
    this.controller.resync(slice.metadata?.namespace, (pod) => changed.has(pod.status?.podIP ?? ''));
  }

  private routed(pod: V1Pod): boolean {
    const ip = pod.status?.podIP;
    return ip !== undefined && this.endpoints.serves(pod.metadata?.namespace ?? '', ip);
  }
}
