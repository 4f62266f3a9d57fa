import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dnsLabel, ReleaseRequestSchema } from '../../domain/index.js';
import { TokenStore, type Permission } from '../auth.js';
import type { ApiContext } from '../context.js';
import { RELEASE_STATES } from '../../workflows/release-status.js';
import { AppParams } from './apps.js';

const StartBody = ReleaseRequestSchema.omit({ app: true, tenant: true, requestedBy: true });
const Headers = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });
const Reason = z.strictObject({ reason: z.string().max(1000).optional() });
const ApproveBody = Reason.extend({ group: z.number().int().min(0).optional() });
const SkipBody = Reason.extend({ pod: z.string().min(1).max(253) });

/** Releases of an App: start (idempotent with a key), status, and every operator action. */
export const releaseRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(app) {
    const base = '/v1/tenants/:tenant/apps/:app/release';

    app.get(
      '/v1/tenants/:tenant/releases',
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          querystring: z.strictObject({
            app: dnsLabel.optional(),
            state: z.enum(RELEASE_STATES).optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
          }),
          tags: ['releases'],
          summary: 'List releases',
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return { releases: await ctx.releases.listReleases(req.params.tenant, req.query) };
      },
    );

    app.post(
      base,
      { schema: { params: AppParams, headers: Headers, body: StartBody, tags: ['releases'], summary: 'Start a release' } },
      async (req, reply) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'release:start', req.params.tenant);
        const key = req.headers['idempotency-key'];
        const ref = await ctx.releases.startRelease(
          { ...req.body, app: req.params.app, tenant: req.params.tenant, requestedBy: identity.name },
          key ? { idempotencyKey: key } : {},
        );
        return reply.status(201).send(ref);
      },
    );

    app.get(base, { schema: { params: AppParams, tags: ['releases'], summary: 'Status of the latest release' } }, async (req) => {
      TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
      return ctx.releases.status(`release/${req.params.tenant}/${req.params.app}`);
    });

    app.get(
      '/v1/tenants/:tenant/apps/:app/releases/:runId',
      {
        schema: {
          params: AppParams.extend({ runId: z.uuid('must be a release run id, as listed by GET /v1/tenants/{tenant}/releases') }),
          tags: ['releases'],
          summary: 'Status and audit trail of one release of the App, finished or not',
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return ctx.releases.status({ workflowId: `release/${req.params.tenant}/${req.params.app}`, runId: req.params.runId });
      },
    );

    const action = <B extends z.ZodType>(
      name: string,
      permission: Permission,
      body: B,
      send: (ref: string, by: string, body: z.output<B>) => Promise<void>,
    ) =>
      app.post(
        `${base}/${name}`,
        { schema: { params: AppParams, body, tags: ['releases'], summary: `Signal ${name}` } },
        async (req, reply) => {
          const identity = ctx.identify(req);
          TokenStore.authorize(identity, permission, req.params.tenant);
          await send(`release/${req.params.tenant}/${req.params.app}`, identity.name, req.body as z.output<B>);
          return reply.status(202).send({ accepted: name, by: identity.name });
        },
      );

    action('approve', 'release:approve', ApproveBody, (ref, by, b) => ctx.releases.approve(ref, { by, ...b }));
    action('promote-all', 'release:approve', Reason, (ref, by, b) => ctx.releases.promoteAll(ref, { by, ...b }));
    action('skip-pod', 'release:approve', SkipBody, (ref, by, b) => ctx.releases.skipPod(ref, { by, ...b }));
    action('pause', 'release:steer', Reason, (ref, by, b) => ctx.releases.pause(ref, { by, ...b }));
    action('resume', 'release:steer', Reason, (ref, by, b) => ctx.releases.resume(ref, { by, ...b }));
    action('abort', 'release:steer', Reason, (ref, by, b) => ctx.releases.abort(ref, { by, ...b }));
    action('rollback', 'release:steer', Reason, (ref, by, b) => ctx.releases.rollback(ref, { by, ...b }));
  };
