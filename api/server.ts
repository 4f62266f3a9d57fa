import swagger from '@fastify/swagger';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { TokenStore } from './auth.js';
import { errorHandler } from './errors.js';
import { createApiMetrics } from './metrics.js';
import type { ReleaseClient } from './release-client.js';
import { appRoutes } from './routes/apps.js';
import { releaseRoutes } from './routes/releases.js';
import { ticketRoutes } from './routes/tickets.js';
import { auditRoutes } from './routes/audit.js';
import { driftRoutes } from './routes/drift.js';
import { DriftClient } from './drift-client.js';
import type { AuditStore } from '../activities/audit-store.js';
import { TicketClient } from './ticket-client.js';

export interface ApiOptions {
  releases: ReleaseClient;
  /** The durable audit record; without it, /audit answers 503. */
  audit?: AuditStore;
  tokens: TokenStore;
  logger: Logger;
}

/** The HTTP API: every body, path and header validated with zod; an OpenAPI document from the same schemas. */
export async function buildApi(
  opts: ApiOptions,
): Promise<FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>> {
  const app = Fastify({ loggerInstance: opts.logger as FastifyBaseLogger }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Barista API', version: '1', description: 'Gradual, lossless, auditable releases of Kubernetes applications' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  const ctx = {
    releases: opts.releases,
    tickets: new TicketClient(opts.releases),
    drift: new DriftClient(opts.releases.client, opts.releases.taskQueue),
    audit: opts.audit,
    identify: (req: { headers: { authorization?: string } }) => opts.tokens.authenticate(req.headers.authorization),
  };
  const metrics = createApiMetrics(opts.releases);
  app.addHook('onResponse', async (req, reply) => {
    metrics.requests.inc({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
    if (req.method === 'POST' && reply.statusCode < 300 && req.routeOptions.url?.includes('/release')) {
      metrics.actions.inc({
        action: req.routeOptions.url.endsWith('/release') ? 'start' : (req.routeOptions.url.split('/').pop() ?? 'unknown'),
      });
    }
  });
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(appRoutes(ctx));
  await app.register(releaseRoutes(ctx));
  await app.register(ticketRoutes(ctx));
  await app.register(auditRoutes(ctx));
  await app.register(driftRoutes(ctx));
  return app;
}
