import { kubeConfigsByContext } from '../kube/contexts.js';
import { createLogger } from '../../sandbox/logger.js';
import { startServiceTrafficOf } from './elected-service.js';

/**
 * The Service traffic component on its own, against real clusters: KUBECONFIG names them (every context
 * is served). Holds `traffic.barista.dev/service` on Barista's pods while a Service routes to them.
 */
async function run(): Promise<void> {
  const logger = createLogger('traffic-service');
  const file = process.env.KUBECONFIG;
  if (!file) throw new Error('KUBECONFIG must be set');
  const contexts = kubeConfigsByContext(file);
  // one instance acts per cluster (Lease `barista-traffic-service`); more run as standbys
  const leaders = await startServiceTrafficOf(contexts, logger);
  logger.info({ clusters: [...contexts.keys()], leading: leaders.leading() }, 'service traffic component running');
  const stop = () => void leaders.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

run().catch((err: unknown) => {
  process.stderr.write(`service traffic component failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
