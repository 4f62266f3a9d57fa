import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { createLogger } from '../sandbox/logger.js';
import { loadTopologyFile } from '../sandbox/topology.js';
import { agentConfigFrom, loadAgentKubeConfig } from './agent-config.js';
import { createAgentWorker } from './agent-worker.js';
import { AgentError } from './agent-errors.js';
import { createWorkerMetrics, serveMetrics } from './metrics-endpoint.js';

/**
 * Cluster agent process (`npm run agent -- --cluster kc2`): serves one cluster's queue, barista-cluster-<name>.
 * Settings: --cluster or BARISTA_AGENT_CLUSTER, BARISTA_TOPOLOGY (the topology file; the cluster must be in it with
 * `access: agent`), KUBECONFIG (that cluster's kubeconfig, one context; unset inside a pod: its ServiceAccount),
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE; BARISTA_METRICS_PORT / BARISTA_METRICS_HOST serve its metrics (optional). Needs no
 * inbound port: it dials Temporal and its own API server only. Besides the cluster's activities it runs the cluster's
 * gate keeper and Service traffic component (each elected among the cluster's agents; BARISTA_AGENT_TRAFFIC=none or
 * `--traffic none` leaves the Service component to something else) and ensures the drift Schedules of the cluster's
 * tenants, whose runs go to the central queue (BARISTA_TASK_QUEUE, default barista).
 * Refuses to start, with the reason, for a cluster the topology does not know or credentials of another cluster.
 * Runs until SIGINT/SIGTERM, then drains in-flight tasks.
 */
async function run(): Promise<void> {
  const level = (process.env.BARISTA_LOG_LEVEL ?? 'info').toUpperCase();
  Runtime.install({
    logger: new DefaultLogger((['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level) ? level : 'INFO') as LogLevel),
  });
  const config = agentConfigFrom(process.env, process.argv.slice(2));
  const logger = createLogger('agent').child({ cluster: config.cluster });
  const topology = await loadTopologyFile(config.topology);
  // its activities' and Kubernetes requests' metrics, and its health (any answer: the process is up), when
  // BARISTA_METRICS_PORT is set: the one port it may listen on, for a scraper in its own network
  const metrics = createWorkerMetrics();
  const metricsEndpoint = process.env.BARISTA_METRICS_PORT
    ? await serveMetrics(metrics.registry, Number(process.env.BARISTA_METRICS_PORT), process.env.BARISTA_METRICS_HOST ?? '127.0.0.1')
    : undefined;
  if (metricsEndpoint) logger.info({ url: metricsEndpoint.url }, 'serving metrics');
  const agent = await createAgentWorker({
    metrics,
    cluster: config.cluster,
    topology,
    topologySource: `topology file ${config.topology}`,
    kubeconfig: loadAgentKubeConfig(config.kubeconfig),
    temporalAddress: config.temporalAddress,
    namespace: config.namespace,
    logger,
    trafficService: config.trafficService,
    driftSchedules: { taskQueue: config.taskQueue },
  });
  logger.info(
    {
      taskQueue: agent.cluster.taskQueue,
      temporalAddress: config.temporalAddress,
      trafficService: config.trafficService ? 'elected' : 'off',
    },
    'agent started',
  );
  await agent.worker.run();
  await agent.stopAfterRun();
  await metricsEndpoint?.close();
}

run().catch((err: unknown) => {
  const code = err instanceof AgentError ? `${err.code}: ` : '';
  process.stderr.write(`agent refused to start or failed: ${code}${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
