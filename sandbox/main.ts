import path from 'node:path';
import { cacheDir } from './paths.js';
import { createProgress } from './progress.js';
import { launchSandbox } from './index.js';
import { loadTopologyFile } from './topology.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createLogger } from './logger.js';
import { createWorker, DEFAULT_TASK_QUEUE } from '../worker/worker.js';
import { startGateKeepers } from '../worker/gate-keeper.js';
import { ensureDriftSchedules } from '../worker/drift-schedules.js';
import { Client } from '@temporalio/client';
import { startLocalApi } from './local-api.js';

/**
 * `npm start`: the embedded default. Brings up the sandbox with a persistent store, prints where everything
 * is, and stays up until Ctrl-C. BARISTA_TOPOLOGY names a topology file; BARISTA_TEMPORAL_PORT fixes the port.
 */
async function run(): Promise<void> {
  const progress = createProgress();
  const topology = process.env.BARISTA_TOPOLOGY ? await loadTopologyFile(process.env.BARISTA_TOPOLOGY) : undefined;
  const started = Date.now();
  const launched = await launchSandbox({
    ...(topology ? { topology } : {}),
    runDir: path.join(cacheDir(), 'run', 'default'),
    persistent: true,
    ...(process.env.BARISTA_TEMPORAL_PORT ? { temporalPort: Number(process.env.BARISTA_TEMPORAL_PORT) } : {}),
    temporalUiPort: process.env.BARISTA_TEMPORAL_UI_PORT ? Number(process.env.BARISTA_TEMPORAL_UI_PORT) : undefined,
    progress,
  });
  const info = launched.sandbox.info();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { worker, connection, clusters, stopAfterRun } = await progress.step(
    `starting the Barista worker (task queue ${DEFAULT_TASK_QUEUE})`,
    () =>
      createWorker({
        temporalAddress: info.temporalAddress,
        namespace: info.temporalNamespace,
        kubeconfig: info.kubeconfig,
        logger: createLogger('worker'),
        ...(info.auditDatabaseUrl ? { auditDatabaseUrl: info.auditDatabaseUrl } : {}),
      }),
  );
  const workerRun = worker.run();
  // every tenant of the sandbox gets its drift Schedule (docs/drift.md), as a worker process does at start
  const drift = await progress.step("ensuring the tenants' drift schedules", () =>
    ensureDriftSchedules({
      client: new Client({ connection, namespace: info.temporalNamespace }),
      taskQueue: DEFAULT_TASK_QUEUE,
      clusters,
      logger: createLogger('worker', 'warn'),
    }),
  );
  const gateKeepers = await startGateKeepers(info.kubeconfig, createLogger('gate-keeper'));
  const api = await startLocalApi(info, Number(process.env.BARISTA_API_PORT ?? 0));
  const lines = [
    '',
    `Barista sandbox is up (${((Date.now() - started) / 1000).toFixed(1)}s).`,
    `  Temporal:   ${info.temporalAddress} (namespace ${info.temporalNamespace})${info.temporalUiUrl ? `, UI ${info.temporalUiUrl}` : ''}`,
    `  kubeconfig: ${info.kubeconfig}`,
    ...info.clusters.map((c) => `    context ${c.name}: ${c.server}  tenant ${c.tenant}/${c.workspace}  cells ${c.cells.join(', ')}`),
    `  control:    ${info.controlUrl} (token in ${path.join(info.runDir, 'control.token')})`,
    `  worker:     task queue ${DEFAULT_TASK_QUEUE} (workflows appRelease, appEntity, releaseTicket, driftRepair)`,
    `  drift:      schedules for ${drift.tenants.join(', ') || 'no tenant'} (every ${process.env.BARISTA_DRIFT_INTERVAL_SECONDS ?? 300}s; barista drift schedule show <tenant>)`,
    `  audit:      PostgreSQL on 127.0.0.1:${info.auditDatabaseUrl ? new URL(info.auditDatabaseUrl).port : '-'} (database barista; URL in ${path.join(info.runDir, 'sandbox.json')})`,
    `  API:        ${api.url} (OpenAPI at ${api.url}/openapi.json; admin token in ${api.tokenFile})`,
    `  logs:       ${path.join(info.runDir, 'logs')} and ${path.join(info.runDir, 'clusters')}`,
    '',
    `Try: KUBECONFIG=${info.kubeconfig} kubectl --context ${info.clusters[0]?.name} get nodes`,
    `     temporal workflow list --address ${info.temporalAddress}`,
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    progress.info(`${signal}: stopping the sandbox`);
    worker.shutdown();
    void workerRun
      .then(() => api.close())
      .then(() => stopAfterRun())
      .then(() => gateKeepers.stop())
      .then(() => connection.close())
      .then(() => launched.stop())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

run().catch((err: unknown) => {
  process.stderr.write(`[barista] start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
