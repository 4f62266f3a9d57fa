import swagger from '@fastify/swagger';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawServerDefault } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Identity, TokenStore } from './auth.js';
import { errorHandler } from './errors.js';
import { createApiMetrics } from './metrics.js';
import type { ReleaseClient } from './release-client.js';
import { appRoutes } from './routes/apps.js';
import { releaseRoutes } from './routes/releases.js';
import { revisionDiffRoutes } from './routes/revision-diff.js';
import { ticketRoutes } from './routes/tickets.js';
import { auditRoutes } from './routes/audit.js';
import { driftRoutes } from './routes/drift.js';
import { revisionRoutes } from './routes/revisions.js';
import { notificationRoutes } from './routes/notifications.js';
import { DriftClient } from './drift-client.js';
import type { AuditStore } from '../activities/audit-store.js';
import { TicketClient } from './ticket-client.js';
import { answerWrongMethods, refuseForbiddenKeys } from './request-guards.js';

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
  // Every /v1 route authenticates in onRequest, before its body is parsed or anything is validated: a request with
  // a bad token is a 401 whatever its body, never a 400 that tells a stranger about the schema. Routes read the
  // identity through ctx.identify (authorization, which needs the tenant from the path, stays in each handler).
  const identities = new WeakMap<FastifyRequest, Identity>();
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.url?.startsWith('/v1/')) identities.set(req, opts.tokens.authenticate(req.headers.authorization));
  });
  refuseForbiddenKeys(app);
  answerWrongMethods(app);
  const ctx = {
    releases: opts.releases,
    tickets: new TicketClient(opts.releases),
    drift: new DriftClient(opts.releases.client, opts.releases.taskQueue),
    audit: opts.audit,
    identify: (req: FastifyRequest) => identities.get(req) ?? opts.tokens.authenticate(req.headers.authorization),
  };
  const metrics = createApiMetrics(opts.releases);
  app.addHook('onResponse', async (req, reply) => {
    metrics.requests.inc({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
    const dryRun = (req.body as { dryRun?: unknown } | undefined)?.dryRun === true; // a dry run starts nothing
    if (req.method === 'POST' && reply.statusCode < 300 && req.routeOptions.url?.includes('/release') && !dryRun) {
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
  await app.register(revisionDiffRoutes(ctx));
  await app.register(ticketRoutes(ctx));
  await app.register(auditRoutes(ctx));
  await app.register(driftRoutes(ctx));
  await app.register(revisionRoutes(ctx));
  await app.register(notificationRoutes(ctx));
  return app;
}
