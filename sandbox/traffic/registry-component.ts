import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { FinalizerController, type RoutingDecision, type TrafficComponent } from '../../worker/traffic/component.js';

export interface RegistryComponentOptions {
  /** How long after a pod stops being Ready the registry still routes to it (propagation, client caches). */
  deregistrationDelayMs: number;
  /** How long after a pod becomes Ready before the registry routes to it. */
  registrationDelayMs: number;
}

/**
 * A simulated service registry (an RPC registry, DNS): it follows the pods' Ready condition and, after its
 * (de)registration delay, starts or stops routing, holding `traffic.barista.dev/<name>` while it routes.
 * The decision depends only on the pod (its Ready condition and when that changed), so it survives restarts.
 */
export class RegistryTrafficComponent implements TrafficComponent {
  private readonly controller: FinalizerController;

  constructor(
    readonly name: string,
    kc: KubeConfig,
    private readonly opts: RegistryComponentOptions,
    logger: Logger,
  ) {
    this.controller = new FinalizerController(name, kc, (pod) => this.decide(pod, Date.now()), logger);
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  setDeregistrationDelay(ms: number): void {
    this.opts.deregistrationDelayMs = ms;
    this.controller.resync(); // pods waiting out the old delay are decided again now
  }

  decide(pod: V1Pod, now: number): RoutingDecision {
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    const since = ready?.lastTransitionTime ? new Date(ready.lastTransitionTime).getTime() : now;
    const holds = pod.metadata?.finalizers?.includes(this.controller.finalizer) ?? false;
    const want = ready?.status === 'True';
    if (want === holds) return { route: holds };
    const delay = want ? this.opts.registrationDelayMs : this.opts.deregistrationDelayMs;
    const left = since + delay - now;
    return left > 0 ? { route: holds, recheckAfterMs: left + 10 } : { route: want };
  }
}
