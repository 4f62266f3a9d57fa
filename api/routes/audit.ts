import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditStore } from '../../activities/audit-store.js';
import { dnsLabel } from '../../domain/index.js';
import { TokenStore } from '../auth.js';
import type { ApiContext } from '../context.js';
import { createErrorHandler, UnavailableError } from '../errors.js';

const since = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-26T00:00:00Z' }).optional();
const until = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-27T00:00:00Z' }).optional();

const AuditQuery = z.strictObject({
  app: dnsLabel.optional(),
  ticket: z.string().min(1).max(200).optional(),
  actor: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(100).optional(),
  since,
  until,
  after: z.coerce.number().int().min(0).optional().describe('the `next` of the page before'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'jsonl']).default('json').describe('jsonl: one entry per line, for export'),
});

const AuditStatsQuery = z
  .strictObject({ app: dnsLabel.optional(), since, until })
  .refine((q) => !q.since || !q.until || Date.parse(q.since) < Date.parse(q.until), {
    path: ['until'],
    message: 'must be after since',
  });

/** The durable audit record of a tenant (docs/audit.md): query, export, verify its hash chain, statistics. */
export const auditRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(server) {
    server.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));
    const store = (): AuditStore => {
      if (!ctx.audit) throw new UnavailableError('the audit store', 'this API has no BARISTA_AUDIT_DATABASE_URL');
      return ctx.audit;
    };

    server.get(
      '/v1/tenants/:tenant/audit',
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          querystring: AuditQuery,
          tags: ['audit'],
          summary: "A tenant's audit record, oldest first, filtered and paged (`next`: the `after` of the next page)",
        },
      },
      async (req, reply) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        const { format, ...q } = req.query;
        const page = await store().query({ ...q, tenant: req.params.tenant });
        if (format === 'jsonl') {
          if (page.next !== undefined) reply.header('x-next-after', String(page.next));
          return reply
            .type('application/x-ndjson')
            .send(page.events.map((e) => JSON.stringify(e)).join('\n') + (page.events.length ? '\n' : ''));
        }
        return page;
      },
    );

    server.get(
      '/v1/tenants/:tenant/audit/verify',
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          tags: ['audit'],
          summary: "Walks the tenant's hash chain: ok, or the first entry edited or following a deleted one",
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return store().verify(req.params.tenant);
      },
    );

    server.get(
      '/v1/tenants/:tenant/audit/stats',
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          querystring: AuditStatsQuery,
          tags: ['audit'],
          summary:
            'Statistics of the releases requested in [since, until), in total and per app: counts, lead time, failure, rollback and abort rates, mean time paused',
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return store().stats({ ...req.query, tenant: req.params.tenant });
      },
    );
  };
