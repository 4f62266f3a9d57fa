import { Client, Connection } from '@temporalio/client';
import { createLogger } from '../sandbox/logger.js';
import { DEFAULT_TASK_QUEUE } from '../worker/worker.js';
import { TokenStore } from './auth.js';
import { ReleaseClient } from './release-client.js';
import { AuditStore } from '../activities/audit-store.js';
import { PrometheusClient } from '../activities/checks/prometheus-client.js';
import { buildApi } from './server.js';

/** API process: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, BARISTA_TASK_QUEUE, BARISTA_TOKENS (token file), PORT (8080), HOST (127.0.0.1),
 * BARISTA_AUDIT_DATABASE_URL (PostgreSQL of the audit record), BARISTA_PROMETHEUS_URL (parses gate checks' PromQL at start). */
async function run(): Promise<void> {
  const logger = createLogger('api');
  const address = process.env.TEMPORAL_ADDRESS;
  const tokensFile = process.env.BARISTA_TOKENS;
  if (!address || !tokensFile) throw new Error('TEMPORAL_ADDRESS and BARISTA_TOKENS must be set');
  const connection = await Connection.connect({ address });
  const releases = new ReleaseClient(
    new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' }),
    process.env.BARISTA_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    process.env.BARISTA_PROMETHEUS_URL ? { prometheus: new PrometheusClient(process.env.BARISTA_PROMETHEUS_URL) } : {},
  );
  const auditUrl = process.env.BARISTA_AUDIT_DATABASE_URL;
  const audit = auditUrl ? await AuditStore.open(auditUrl) : undefined;
  const api = await buildApi({ releases, tokens: await TokenStore.fromFile(tokensFile), logger, ...(audit ? { audit } : {}) });
  await api.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '127.0.0.1' });
  const stop = () =>
    void api
      .close()
      .then(() => connection.close())
      .then(() => audit?.close())
      .then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

run().catch((err: unknown) => {
  process.stderr.write(`api failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
