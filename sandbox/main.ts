import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { cacheDir, REPO_ROOT, temporalBinary } from './paths.js';
import { createProgress } from './progress.js';
import { launchSandbox, type LaunchedSandbox } from './index.js';
import { loadTopologyFile } from './topology.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createLogger } from './logger.js';
import { createWorker, DEFAULT_TASK_QUEUE } from '../worker/worker.js';
import { startGateKeepers } from '../worker/gate-keeper.js';
import { ensureDriftSchedules } from '../worker/drift-schedules.js';
import { createWorkerMetrics, serveMetrics, type MetricsEndpoint } from '../worker/metrics-endpoint.js';
import { Client } from '@temporalio/client';
import { startLocalApi } from './local-api.js';
import { AgentProcesses } from './agent-processes.js';
import { acquireStartLock, StartLockHeldError, type StartLock } from './start-lock.js';
import { writeEnvFile } from './env-file.js';
import { parseStartOptions, START_USAGE } from './start-options.js';
import { choosePort } from './process/ports.js';
import { ownSignals } from './process/own-signals.js';
import type { NotificationLinks } from '../activities/index.js';

/**
 * `npm start`: the embedded default. Brings up the sandbox with a persistent store in `<cache>/run/default`, the
 * worker (unless `--no-worker`), the HTTP API and the worker's metrics endpoint; writes `<runDir>/env` for the
 * shells that use it; prints where everything is, and stays up until Ctrl-C. One `npm start` per run directory (a
 * lock names the one running). BARISTA_TOPOLOGY names a topology file; BARISTA_TEMPORAL_PORT, BARISTA_API_PORT and
 * BARISTA_METRICS_PORT fix ports.
 */
async function run(): Promise<void> {
  const options = parseStartOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${START_USAGE}\n`);
    return;
  }
  const progress = createProgress();
  const runDir = path.join(cacheDir(), 'run', 'default');
  await mkdir(runDir, { recursive: true });
  const lock = await acquireStartLock(runDir);
  if (lock.tookOver) progress.info(`taking over the start lock of PID ${lock.tookOver.pid}, which no longer runs`);
  const stops: (() => Promise<unknown>)[] = [() => lock.release()];
  /** Stops what started, last first, each even if an earlier one failed; false if any failed. */
  const stopAll = async (): Promise<boolean> => {
    let ok = true;
    for (const stop of stops.reverse())
      await stop().catch((err: unknown) => {
        ok = false;
        progress.info(`stopping: ${err instanceof Error ? err.message : String(err)}`);
      });
    return ok;
  };
  try {
    await startAll(options.worker, runDir, lock, progress, stops);
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    progress.info(`${signal}: stopping the sandbox`);
    void stopAll().then((ok) => process.exit(ok ? 0 : 1));
  };
  ownSignals(shutdown);
}

/** Starts everything; each part pushes how it stops onto `stops` (run in reverse order). */
async function startAll(
  withWorker: boolean,
  runDir: string,
  lock: StartLock,
  progress: ReturnType<typeof createProgress>,
  stops: (() => Promise<unknown>)[],
): Promise<void> {
  const topology = process.env.BARISTA_TOPOLOGY ? await loadTopologyFile(process.env.BARISTA_TOPOLOGY) : undefined;
  const started = Date.now();
  const launched: LaunchedSandbox = await launchSandbox({
    ...(topology ? { topology } : {}),
    runDir,
    persistent: true,
    ...(process.env.BARISTA_TEMPORAL_PORT ? { temporalPort: Number(process.env.BARISTA_TEMPORAL_PORT) } : {}),
    temporalUiPort: process.env.BARISTA_TEMPORAL_UI_PORT ? Number(process.env.BARISTA_TEMPORAL_UI_PORT) : undefined,
    progress,
  });
  stops.push(() => launched.stop());
  const info = launched.sandbox.info();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // clusters the topology serves through agents (issue #16): each agent its own process with only its cluster's
  // kubeconfig; the worker gets a kubeconfig without them, so it cannot dial them
  const agentClusters = (topology?.clusters ?? []).filter((c) => c.access === 'agent').map((c) => c.name);
  const agents = agentClusters.length ? await AgentProcesses.prepare(info, agentClusters, process.env.BARISTA_TOPOLOGY!) : undefined;
  if (agents) {
    launched.sandbox.agents = agents;
    stops.push(() => agents.stopAll());
    for (const cluster of agentClusters)
      await progress.step(`starting the agent of cluster ${cluster} (its own process, only its kubeconfig)`, () => agents.start(cluster));
  }
  const workerKubeconfig = agents?.centralKubeconfig ?? info.kubeconfig;
  // verification gates ask the sandbox's Prometheus unless told another (docs/verification.md)
  const prometheusUrl = process.env.BARISTA_PROMETHEUS_URL ?? info.prometheusUrl;
  // what notifications link to; the local API's address is known once it listens (below)
  const temporalUi = process.env.BARISTA_TEMPORAL_UI_URL ?? info.temporalUiUrl;
  const notificationLinks: NotificationLinks = {
    ...(process.env.BARISTA_PUBLIC_URL ? { api: process.env.BARISTA_PUBLIC_URL } : {}),
    ...(temporalUi ? { temporalUi } : {}),
  };
  const requestedMetricsPort = process.env.BARISTA_METRICS_PORT ? Number(process.env.BARISTA_METRICS_PORT) : undefined;
  const metrics = createWorkerMetrics();
  let metricsEndpoint: MetricsEndpoint | undefined;
  let metricsPort: number;
  let driftTenants: string[] = [];
  if (withWorker) {
    const { worker, connection, clusters, stopAfterRun } = await progress.step(
      `starting the Barista worker (task queue ${DEFAULT_TASK_QUEUE})`,
      () =>
        createWorker({
          metrics,
          temporalAddress: info.temporalAddress,
          namespace: info.temporalNamespace,
          kubeconfig: workerKubeconfig,
          ...(agentClusters.length ? { agentClusters } : {}),
          logger: createLogger('worker'),
          ...(info.auditDatabaseUrl ? { auditDatabaseUrl: info.auditDatabaseUrl } : {}),
          ...(prometheusUrl ? { prometheusUrl } : {}),
          ...(process.env.BARISTA_WEBHOOK_SECRET ? { webhookSecret: process.env.BARISTA_WEBHOOK_SECRET } : {}),
          notificationLinks,
        }),
    );
    const workerRun = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await workerRun;
      await stopAfterRun();
      await connection.close();
    });
    // every tenant of the sandbox gets its drift Schedule (docs/drift.md), as a worker process does at start
    const drift = await progress.step("ensuring the tenants' drift schedules", () =>
      ensureDriftSchedules({
        client: new Client({ connection, namespace: info.temporalNamespace }),
        taskQueue: DEFAULT_TASK_QUEUE,
        clusters,
        logger: createLogger('worker', 'warn'),
      }),
    );
    driftTenants = drift.tenants;
    // the agent-served clusters' gate keepers run in their agents
    const gateKeepers = await startGateKeepers(workerKubeconfig, createLogger('gate-keeper'));
    stops.push(() => gateKeepers.stop());
    metricsEndpoint = await serveMetrics(metrics.registry, await choosePort(requestedMetricsPort, 'the worker metrics'));
    stops.push(() => metricsEndpoint!.close());
    metricsPort = metricsEndpoint.port;
  } else {
    // the worker runs as its own process (`npm run worker` with the env file sourced) and serves its metrics here
    metricsPort = await choosePort(requestedMetricsPort, 'the worker metrics');
  }
  const api = await startLocalApi({ ...info, ...(prometheusUrl ? { prometheusUrl } : {}) }, Number(process.env.BARISTA_API_PORT ?? 0));
  stops.push(() => api.close());
  const metricsUrl = metricsEndpoint?.url ?? `http://127.0.0.1:${metricsPort}/metrics`;
  const envFile = await writeEnvFile(
    runDir,
    {
      API: api.url,
      ADDR: info.temporalAddress,
      KUBECONFIG: info.kubeconfig,
      BARISTA_TOKEN: api.token,
      BARISTA_ENDPOINT: api.url,
      TEMPORAL_ADDRESS: info.temporalAddress,
      TEMPORAL_NAMESPACE: info.temporalNamespace,
      METRICS: metricsUrl,
      ...(withWorker ? {} : { BARISTA_METRICS_PORT: String(metricsPort) }),
      // a worker started by hand (`npm run worker`) routes the agent-served clusters' steps to their agents
      ...(agentClusters.length ? { BARISTA_AGENT_CLUSTERS: agentClusters.join(',') } : {}),
      ...(info.auditDatabaseUrl ? { BARISTA_AUDIT_DATABASE_URL: info.auditDatabaseUrl } : {}),
      ...(prometheusUrl ? { BARISTA_PROMETHEUS_URL: prometheusUrl } : {}),
    },
    {
      header: `written by npm start (PID ${process.pid}) at ${new Date().toISOString()}; valid while it runs`,
      commands: { barista: path.join(REPO_ROOT, 'cli', 'bin.js'), temporal: temporalBinary() },
    },
  );
  // the env file holds this start's token: it goes with the start, so a stale one is never sourced
  stops.push(() => rm(envFile, { force: true }));
  const addresses = {
    API: api.url,
    Temporal: info.temporalAddress,
    metrics: `${metricsUrl}${withWorker ? '' : ' (served by `npm run worker`)'}`,
    kubeconfig: info.kubeconfig,
    ...(info.prometheusUrl ? { Prometheus: info.prometheusUrl } : {}),
  };
  await lock.update({ addresses, envFile });
  notificationLinks.api ??= api.url;
  const lines = [
    '',
    `Barista sandbox is up (${((Date.now() - started) / 1000).toFixed(1)}s).`,
    `  Temporal:   ${info.temporalAddress} (namespace ${info.temporalNamespace})${info.temporalUiUrl ? `, UI ${info.temporalUiUrl}` : ''}`,
    `  kubeconfig: ${info.kubeconfig}`,
    ...info.clusters.map((c) => `    context ${c.name}: ${c.server}  tenant ${c.tenant}/${c.workspace}  cells ${c.cells.join(', ')}`),
    `  control:    ${info.controlUrl} (token in ${path.join(info.runDir, 'control.token')})`,
    ...(agents
      ? agents
          .list()
          .map(
            (a) =>
              `  agent:      cluster ${a.cluster} served by its agent (PID ${a.pid}, log ${a.log}; POST ${info.controlUrl}/agents/${a.cluster}/stop|start)`,
          )
      : []),
    withWorker
      ? `  worker:     task queue ${DEFAULT_TASK_QUEUE} (workflows appRelease, appEntity, releaseTicket, driftRepair)`
      : `  worker:     not started (--no-worker): run it with \`source ${envFile}\` then \`npm run worker\` (task queue ${DEFAULT_TASK_QUEUE})`,
    `  metrics:    ${metricsUrl} (the worker's Prometheus metrics${withWorker ? '' : ', once `npm run worker` serves them'})`,
    withWorker
      ? `  drift:      schedules for ${driftTenants.join(', ') || 'no tenant'} (every ${process.env.BARISTA_DRIFT_INTERVAL_SECONDS ?? 300}s; barista drift schedule show <tenant>)`
      : '  drift:      schedules ensured by the worker when it starts',
    `  audit:      PostgreSQL on 127.0.0.1:${info.auditDatabaseUrl ? new URL(info.auditDatabaseUrl).port : '-'} (database barista; URL in ${path.join(info.runDir, 'sandbox.json')})`,
    `  Prometheus: ${info.prometheusUrl ?? '-'} (HTTP API, no web UI; simulated request metrics scraped every second)`,
    `  API:        ${api.url} (OpenAPI at ${api.url}/openapi.json; admin token in ${api.tokenFile})`,
    `  logs:       ${path.join(info.runDir, 'logs')} and ${path.join(info.runDir, 'clusters')}`,
    '',
    'In another shell (exports API, ADDR, KUBECONFIG, BARISTA_TOKEN, BARISTA_ENDPOINT, METRICS; puts `barista` and `temporal` on the PATH):',
    `  source ${envFile}`,
    '  barista app list acme',
    `  kubectl --context ${info.clusters[0]?.name} get nodes    # if kubectl is installed`,
    '  temporal workflow list --address $ADDR',
    '  curl -s $METRICS | grep barista_',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

run().catch((err: unknown) => {
  if (err instanceof StartLockHeldError) {
    process.stderr.write(`[barista] ${err.message}\n`);
    process.exit(3);
  }
  process.stderr.write(`[barista] start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
