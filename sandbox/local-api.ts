import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { hashToken, TokenStore } from '../api/auth.js';
import { PrometheusClient } from '../activities/checks/prometheus-client.js';
import { ReleaseClient } from '../api/release-client.js';
import { AuditStore } from '../activities/audit-store.js';
import { buildApi } from '../api/server.js';
import { DEFAULT_TASK_QUEUE } from '../worker/worker.js';
import { createLogger } from './logger.js';
import type { SandboxInfo } from './sandbox.js';

/**
 * The HTTP API for the local sandbox, on loopback: a fresh admin token per start, written (mode 0600) to
 * `<runDir>/api.token`; only its hash goes into the token file the API reads.
 */
export async function startLocalApi(
  info: SandboxInfo,
  port: number,
): Promise<{ url: string; token: string; tokenFile: string; close: () => Promise<void> }> {
  const token = randomBytes(24).toString('hex');
  const tokenFile = path.join(info.runDir, 'api.token');
  const tokensFile = path.join(info.runDir, 'api-tokens.yaml');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  await writeFile(
    tokensFile,
    stringify({ tokens: [{ name: 'local-admin', sha256: hashToken(token), roles: ['admin'], tenants: ['*'] }] }),
    { mode: 0o600 },
  );
  const connection = await Connection.connect({ address: info.temporalAddress });
  const releases = new ReleaseClient(
    new Client({ connection, namespace: info.temporalNamespace }),
    DEFAULT_TASK_QUEUE,
    info.prometheusUrl ? { prometheus: new PrometheusClient(info.prometheusUrl) } : {},
  );
  const audit = info.auditDatabaseUrl ? await AuditStore.open(info.auditDatabaseUrl) : undefined;
  const api = await buildApi({
    releases,
    tokens: await TokenStore.fromFile(tokensFile),
    logger: createLogger('api', 'warn'),
    ...(audit ? { audit } : {}),
  });
  const url = await api.listen({ port, host: '127.0.0.1' });
  return {
    url,
    token,
    tokenFile,
    close: async () => {
      await api.close();
      await connection.close();
      await audit?.close();
    },
  };
}
