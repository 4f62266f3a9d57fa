import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppSpecFields, DomainError, dnsLabel } from '../../domain/index.js';
import { TokenStore } from '../auth.js';
import type { ApiContext } from '../context.js';
import { createErrorHandler } from '../errors.js';
import { getChangeWindows, setChangeWindows } from '../change-windows.js';

export const AppParams = z.strictObject({ tenant: dnsLabel, app: dnsLabel });
/** The PUT body: the spec without name and tenant (from the path); cross-field rules run in upsertApp. */
export const AppBody = AppSpecFields.omit({ name: true, tenant: true });

/** Apps: register or update (a changed template, replicas or overrides make a new revision), read, list. */
export const appRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(app) {
    // errors of these routes name the Temporal address when Temporal does not answer (503)
    app.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));

    app.put(
      '/v1/tenants/:tenant/apps/:app',
      {
        schema: {
          params: AppParams,
          body: AppBody,
          tags: ['apps'],
          summary: 'Register or update an App',
          description:
            '400 names the field of anything Kubernetes or the clusters would refuse (unknown or foreign cells, annotation ' +
            'keys, env names, overrides outside the placement, kube-* namespaces); 503 names a cluster that did not answer.',
        },
      },
      async (req) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'apps:write', req.params.tenant);
        return ctx.releases.upsertApp({ ...req.body, name: req.params.app, tenant: req.params.tenant }, identity.name);
      },
    );

    app.get(
      '/v1/tenants/:tenant/apps',
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
          tags: ['apps'],
          summary: "A tenant's Apps with their latest revision and what each cell released",
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return { apps: await ctx.releases.listApps(req.params.tenant, req.query.limit) };
      },
    );

    app.put(
      '/v1/tenants/:tenant/change-windows',
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          body: z.strictObject({ windows: z.array(z.unknown()).max(200) }),
          tags: ['tenants'],
          summary: "Set the tenant's change windows (admin): no release starts a group inside one",
          description: '400 names the field of a bad window (kind, times, days, time zone, a name used twice).',
        },
      },
      async (req) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'tenant:settings', req.params.tenant);
        return setChangeWindows(ctx.releases, req.params.tenant, req.body.windows, identity.name);
      },
    );

    app.get(
      '/v1/tenants/:tenant/change-windows',
      { schema: { params: z.strictObject({ tenant: dnsLabel }), tags: ['tenants'], summary: "The tenant's change windows" } },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return getChangeWindows(ctx.releases, req.params.tenant);
      },
    );

    app.get(
      '/v1/tenants/:tenant/apps/:app',
      { schema: { params: AppParams, tags: ['apps'], summary: 'An App with its revisions' } },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        const record = await ctx.releases.getApp(req.params.tenant, req.params.app);
        if (!record) throw new DomainError('NOT_FOUND', `app ${req.params.tenant}/${req.params.app} is not registered`);
        return record;
      },
    );
  };
