import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { RegistryTrafficComponent } from '../registry-component.js';

/** Simulated DNS: a record disappears from answers after the TTL (default 2 s). */
export function createDnsComponent(kc: KubeConfig, logger: Logger, deregistrationDelayMs = 2_000): RegistryTrafficComponent {
  return new RegistryTrafficComponent('dns', kc, { deregistrationDelayMs, registrationDelayMs: 200 }, logger);
}
