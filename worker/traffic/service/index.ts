import { DiscoveryV1Api, type KubeConfig, type V1EndpointSlice, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { startResilientInformer, type ResilientInformer } from '../../kube/resilient-informer.js';
import { FinalizerController, type TrafficComponent } from '../component.js';
import { makeApiClient } from '../../kube/api-client.js';

/**
 * The Kubernetes Service traffic component: a pod is routed to while its IP is a ready endpoint in an
 * EndpointSlice of some Service (the EndpointSlice controller derives readiness from the pod's Ready
 * condition, which includes Barista's readiness gate). It holds `traffic.barista.dev/service` exactly then.
 */
export class ServiceTrafficComponent implements TrafficComponent {
  readonly name = 'service';
  private readonly controller: FinalizerController;
  private slices: ResilientInformer<V1EndpointSlice> | undefined;

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
        onChange: (slice) => this.controller.resync(slice.metadata?.namespace),
        onDelete: (slice) => this.controller.resync(slice.metadata?.namespace),
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

  private routed(pod: V1Pod): boolean {
    const ip = pod.status?.podIP;
    if (!ip) return false;
    return (this.slices?.cache.list(pod.metadata?.namespace) ?? []).some(
      (slice) =>
        slice.metadata?.labels?.['kubernetes.io/service-name'] !== undefined &&
        (slice.endpoints ?? []).some((e) => e.addresses.includes(ip) && e.conditions?.ready === true),
    );
  }
}
