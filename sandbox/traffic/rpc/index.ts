import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { RegistryTrafficComponent } from '../registry-component.js';

/** Simulated RPC registry: clients learn of deregistrations after the delay (default 1.5 s). */
export function createRpcComponent(kc: KubeConfig, logger: Logger, deregistrationDelayMs = 1_500): RegistryTrafficComponent {
  return new RegistryTrafficComponent('rpc', kc, { deregistrationDelayMs, registrationDelayMs: 200 }, logger);
}
