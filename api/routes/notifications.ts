import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError, dnsLabel } from '../../domain/index.js';
import {
  NOTIFICATION_EVENTS,
  WebhookEventsSchema,
  webhookName,
  WebhookSecretSchema,
  WebhookUrlSchema,
} from '../../domain/notifications.js';
import { TokenStore } from '../auth.js';
import type { ApiContext } from '../context.js';
import { createErrorHandler } from '../errors.js';
import { listWebhooks, removeWebhook, setWebhook } from '../notifications.js';

const TenantParams = z.strictObject({ tenant: dnsLabel });
const WebhookParams = TenantParams.extend({ name: webhookName });
const WebhookBody = z.strictObject({
  url: WebhookUrlSchema.describe('http:// or https:// URL each notification is POSTed to'),
  secret: WebhookSecretSchema.optional().describe(
    'shared secret signing each delivery (at least 16 bytes); required for a new webhook, kept when left out; never returned',
  ),
  events: WebhookEventsSchema.optional().describe(`events to deliver (default: all): ${NOTIFICATION_EVENTS.join(', ')}`),
});

/** A tenant's notification webhooks (docs/notifications.md): set, list, read, remove. Secrets go in, never out. */
export const notificationRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(app) {
    const base = '/v1/tenants/:tenant/notifications/webhooks';
    // errors of these routes name the Temporal address when Temporal does not answer (503)
    app.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));

    app.put(
      `${base}/:name`,
      {
        schema: {
          params: WebhookParams,
          body: WebhookBody,
          tags: ['tenants'],
          summary: 'Create or change a notification webhook (admin)',
          description:
            '400 names the field: a URL that is not http(s), a secret under 16 bytes, an unknown event, a new webhook ' +
            'without a secret, more than 20 webhooks. The answer shows `secretSet`, never the secret.',
        },
      },
      async (req) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'tenant:notifications', req.params.tenant);
        return setWebhook(ctx.releases, req.params.tenant, { name: req.params.name, ...req.body }, identity.name);
      },
    );

    app.get(
      base,
      { schema: { params: TenantParams, tags: ['tenants'], summary: "The tenant's notification webhooks (secrets never shown)" } },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return { tenant: req.params.tenant, webhooks: await listWebhooks(ctx.releases, req.params.tenant) };
      },
    );

    app.get(
      `${base}/:name`,
      { schema: { params: WebhookParams, tags: ['tenants'], summary: 'One notification webhook (its secret never shown)' } },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        const found = (await listWebhooks(ctx.releases, req.params.tenant)).find((w) => w.name === req.params.name);
        if (!found) throw new DomainError('NOT_FOUND', `tenant ${req.params.tenant} has no webhook named ${req.params.name}`);
        return found;
      },
    );

    app.delete(
      `${base}/:name`,
      { schema: { params: WebhookParams, tags: ['tenants'], summary: 'Remove a notification webhook (admin)' } },
      async (req) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'tenant:notifications', req.params.tenant);
        return removeWebhook(ctx.releases, req.params.tenant, req.params.name, identity.name);
      },
    );
  };
