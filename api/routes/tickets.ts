import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dnsLabel } from '../../domain/index.js';
import { TicketSpecFields } from '../../domain/ticket.js';
import { TICKET_ACTIONS, type TicketAction, type TicketActionInputs } from '../../workflows/ticket-definitions.js';
import { TokenStore, type Permission } from '../auth.js';
import type { ApiContext } from '../context.js';
import { createErrorHandler } from '../errors.js';

const TicketParams = z.strictObject({ tenant: dnsLabel, id: z.string().min(1).max(200) });
/** The ticket's spec without the tenant (from the path); its checks across entries run in TicketClient.create. */
const CreateBody = TicketSpecFields.omit({ tenant: true });
const Headers = z.object({ 'idempotency-key': dnsLabel.optional().describe('the ticket id (default: a new uuid)') });
const ActionBody = z.strictObject({
  reason: z.string().max(1000).optional(),
  by: z.unknown().optional().describe('ignored: the action is recorded under the identity of the bearer token'),
});
const app = z.string().min(1).max(63);
const ACTION_BODIES = {
  approve: ActionBody.extend({ app: app.optional().describe('approve one app (approval per-app); without: the ticket') }),
  pause: ActionBody,
  resume: ActionBody,
  abort: ActionBody,
  rollback: ActionBody,
  retry: ActionBody.extend({ app, revision: z.number().int().positive().optional() }),
  skip: ActionBody.extend({ app }),
} satisfies Record<TicketAction, z.ZodType>;
const ACTION_PERMISSIONS: Record<TicketAction, Permission> = {
  approve: 'release:approve',
  pause: 'release:steer',
  resume: 'release:steer',
  abort: 'release:steer',
  rollback: 'release:steer',
  retry: 'release:steer',
  skip: 'ticket:skip',
};

/** Release tickets: create, list, status, and every operator action (docs/tickets.md). */
export const ticketRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(server) {
    server.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));
    const base = '/v1/tenants/:tenant/tickets';

    server.post(
      base,
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          headers: Headers,
          body: CreateBody,
          tags: ['tickets'],
          summary: 'Create a release ticket: several apps released in dependency order',
          description:
            '201 {id, workflowId, runId}. 400 naming the field: a dependency cycle, an app twice, a dependency not in the ' +
            'ticket, an app or revision the tenant does not have. 409: the id (Idempotency-Key) is used already.',
        },
      },
      async (req, reply) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'release:start', req.params.tenant);
        const id = req.headers['idempotency-key'];
        const created = await ctx.tickets.create({ ...req.body, tenant: req.params.tenant }, identity.name, id ? { id } : {});
        return reply.status(201).send(created);
      },
    );

    server.get(
      base,
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
          tags: ['tickets'],
          summary: "A tenant's tickets, newest first",
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return { tickets: await ctx.tickets.list(req.params.tenant, req.query.limit) };
      },
    );

    server.get(
      `${base}/:id`,
      { schema: { params: TicketParams, tags: ['tickets'], summary: 'A ticket: each app, its state and release, the audit trail' } },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return ctx.tickets.status(req.params.tenant, req.params.id);
      },
    );

    for (const action of TICKET_ACTIONS)
      server.post(
        `${base}/:id/${action}`,
        {
          schema: {
            params: TicketParams,
            body: ACTION_BODIES[action],
            tags: ['tickets'],
            summary: `${action} the ticket (Temporal Update "ticket-${action}")`,
            description: 'Answers 200 with the audit entry recorded, 409 with the reason when the ticket refuses the action.',
          },
        },
        async (req) => {
          const identity = ctx.identify(req);
          TokenStore.authorize(identity, ACTION_PERMISSIONS[action], req.params.tenant);
          const input = { ...req.body, by: identity.name } as TicketActionInputs[typeof action];
          const result = await ctx.tickets.act(req.params.tenant, req.params.id, action, input);
          return { ...result, by: identity.name };
        },
      );
  };
