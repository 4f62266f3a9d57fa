import http from 'node:http';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { createActivityMetrics } from '../activities/index.js';
import { createLogger } from '../sandbox/logger.js';
import { ensureDriftSchedules } from './drift-schedules.js';
import { startGateKeepers } from './gate-keeper.js';
import { observeKubeRequests } from './kube/api-client.js';
import { createWorker, DEFAULT_TASK_QUEUE } from './worker.js';

/**
 * Worker process: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, BARISTA_TASK_QUEUE, KUBECONFIG (one context per
 * cluster), BARISTA_AUDIT_DATABASE_URL (PostgreSQL of the audit record), BARISTA_DRIFT_TENANTS (tenants whose drift
 * Schedule to ensure; `none`: none; default: those the clusters' nodes are labelled with), BARISTA_DRIFT_INTERVAL_SECONDS
 * (interval of a Schedule created here). Runs until SIGINT/SIGTERM, then drains in-flight tasks.
 */
async function run(): Promise<void> {
  const level = (process.env.BARISTA_LOG_LEVEL ?? 'info').toUpperCase();
  Runtime.install({
    logger: new DefaultLogger((['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level) ? level : 'INFO') as LogLevel),
  });
  const logger = createLogger('worker');
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  const kubeconfig = process.env.KUBECONFIG;
  if (!temporalAddress || !kubeconfig) throw new Error('TEMPORAL_ADDRESS and KUBECONFIG must be set');
  const metrics = createActivityMetrics();
  // every request this process sends to a cluster, by verb (what Barista itself costs the API servers)
  observeKubeRequests((r) =>
    metrics.kubeRequests.inc({ cluster: r.cluster, verb: r.contentType === 'application/apply-patch+yaml' ? 'APPLY' : r.method }),
  );
  // Prometheus metrics of the activities, when BARISTA_METRICS_PORT is set
  const metricsServer = http.createServer((_req, res) => {
    void metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
  });
  metricsServer.on('error', (err) => logger.error({ err }, 'metrics endpoint failed'));
  if (process.env.BARISTA_METRICS_PORT)
    metricsServer.listen(Number(process.env.BARISTA_METRICS_PORT), process.env.BARISTA_METRICS_HOST ?? '127.0.0.1');
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.BARISTA_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  const { worker, connection, clusters, stopAfterRun } = await createWorker({
    metrics,
    temporalAddress,
    namespace,
    taskQueue,
    kubeconfig,
    logger,
    ...(process.env.BARISTA_AUDIT_DATABASE_URL ? { auditDatabaseUrl: process.env.BARISTA_AUDIT_DATABASE_URL } : {}),
  });
  logger.info({ temporalAddress, taskQueue }, 'worker started');
  // beside the worker, not before it: a cluster or Temporal that does not answer delays no task and stops nothing
  const driftSchedules = ensureDriftSchedules({ client: new Client({ connection, namespace }), taskQueue, clusters, logger }).catch(
    (err: unknown) => logger.error({ err }, 'drift schedules not ensured'),
  );
  const gateKeepers = await startGateKeepers(kubeconfig, logger.child({ component: 'gate-keeper' }));
  await worker.run();
  await driftSchedules;
  await stopAfterRun();
  await gateKeepers.stop();
  metricsServer.close();
  await connection.close();
}

run().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
