import { kubeConfigsByContext } from '../kube/contexts.js';
import { createLogger } from '../../sandbox/logger.js';
import { ServiceTrafficComponent } from './service/index.js';

/**
 * The Service traffic component on its own, against real clusters: KUBECONFIG names them (every context
 * is served). Holds `traffic.barista.dev/service` on Barista's pods while a Service routes to them.
 */
async function run(): Promise<void> {
  const logger = createLogger('traffic-service');
  const file = process.env.KUBECONFIG;
  if (!file) throw new Error('KUBECONFIG must be set');
  const contexts = kubeConfigsByContext(file);
  const components = [...contexts].map(([cluster, kc]) => new ServiceTrafficComponent(kc, logger.child({ cluster })));
  await Promise.all(components.map((c) => c.start()));
  logger.info({ clusters: [...contexts.keys()] }, 'service traffic component running');
  const stop = () => void Promise.all(components.map((c) => c.stop())).then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

run().catch((err: unknown) => {
  process.stderr.write(`service traffic component failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
