import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { parseAgentClusters } from '../domain/cluster-queues.js';
import { createLogger } from '../sandbox/logger.js';
import { ensureDriftSchedules } from './drift-schedules.js';
import { startGateKeepers } from './gate-keeper.js';
import { createWorkerMetrics, serveMetrics } from './metrics-endpoint.js';
import { createWorker, DEFAULT_TASK_QUEUE } from './worker.js';

/**
 * Worker process: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, BARISTA_TASK_QUEUE, KUBECONFIG (one context per
 * cluster), BARISTA_AUDIT_DATABASE_URL (PostgreSQL of the audit record), BARISTA_DRIFT_TENANTS (tenants whose drift
 * Schedule to ensure; `none`: none; default: those the clusters' nodes are labelled with), BARISTA_DRIFT_INTERVAL_SECONDS
 * (interval of a Schedule created here), BARISTA_PROMETHEUS_URL (what gate checks query), BARISTA_WEBHOOK_SECRET (signs
 * verification webhooks), BARISTA_PUBLIC_URL and BARISTA_TEMPORAL_UI_URL (what notifications link to), BARISTA_AGENT_CLUSTERS
 * (comma-separated clusters served by agents: releases send their steps to barista-cluster-<name>). Runs until
 * SIGINT/SIGTERM, then drains in-flight tasks.
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
  const metrics = createWorkerMetrics();
  // Prometheus metrics of the activities, when BARISTA_METRICS_PORT is set (a port in use is logged, not fatal)
  const metricsEndpoint = process.env.BARISTA_METRICS_PORT
    ? await serveMetrics(metrics.registry, Number(process.env.BARISTA_METRICS_PORT), process.env.BARISTA_METRICS_HOST ?? '127.0.0.1').catch(
        (err: unknown) => {
          logger.error({ err }, 'metrics endpoint failed');
          return undefined;
        },
      )
    : undefined;
  if (metricsEndpoint) logger.info({ url: metricsEndpoint.url }, 'serving metrics');
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.BARISTA_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  const agentClusters = parseAgentClusters(process.env.BARISTA_AGENT_CLUSTERS);
  const { worker, connection, clusters, stopAfterRun } = await createWorker({
    metrics,
    temporalAddress,
    namespace,
    taskQueue,
    kubeconfig,
    logger,
    agentClusters,
    ...(process.env.BARISTA_AUDIT_DATABASE_URL ? { auditDatabaseUrl: process.env.BARISTA_AUDIT_DATABASE_URL } : {}),
    ...(process.env.BARISTA_PROMETHEUS_URL ? { prometheusUrl: process.env.BARISTA_PROMETHEUS_URL } : {}),
    ...(process.env.BARISTA_WEBHOOK_SECRET ? { webhookSecret: process.env.BARISTA_WEBHOOK_SECRET } : {}),
    notificationLinks: {
      ...(process.env.BARISTA_PUBLIC_URL ? { api: process.env.BARISTA_PUBLIC_URL } : {}),
      ...(process.env.BARISTA_TEMPORAL_UI_URL ? { temporalUi: process.env.BARISTA_TEMPORAL_UI_URL } : {}),
    },
  });
  logger.info({ temporalAddress, taskQueue, prometheus: process.env.BARISTA_PROMETHEUS_URL ?? 'none' }, 'worker started');
  // beside the worker, not before it: a cluster or Temporal that does not answer delays no task and stops nothing
  const driftSchedules = ensureDriftSchedules({ client: new Client({ connection, namespace }), taskQueue, clusters, logger }).catch(
    (err: unknown) => logger.error({ err }, 'drift schedules not ensured'),
  );
  const gateKeepers = await startGateKeepers(kubeconfig, logger.child({ component: 'gate-keeper' }));
  await worker.run();
  await driftSchedules;
  await stopAfterRun();
  await gateKeepers.stop();
  await metricsEndpoint?.close();
  await connection.close();
}

run().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
