import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CatchUpRequestSchema, dnsLabel, ReleaseRequestSchema } from '../../domain/index.js';
import { TokenStore, type Permission } from '../auth.js';
import type { ApiContext } from '../context.js';
import { createErrorHandler } from '../errors.js';
import { RELEASE_ACTIONS, type ActionInputs, type ReleaseAction } from '../../workflows/definitions.js';
import { LISTED_STATES } from '../release-states.js';
import { AppParams } from './apps.js';
import type { StatusView } from '../../workflows/release-status.js';

const StartBody = ReleaseRequestSchema.omit({ app: true, tenant: true, requestedBy: true }).extend({
  dryRun: z
    .boolean({ error: 'dryRun must be true or false' })
    .optional()
    .describe('true: answer the plan a start would run (groups, gates, deadlines, revision diff) and start nothing'),
});
const Headers = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });
/** An operator action's body. The token's identity acts: a `by` in the body is accepted and ignored. */
const ActionBody = z.strictObject({
  reason: z.string().max(1000).optional(),
  by: z.unknown().optional().describe('ignored: the action is recorded under the identity of the bearer token'),
});
const ACTION_BODIES = {
  approve: ActionBody.extend({
    group: z.number().int().min(0).optional().describe('group whose gate to approve (default: the current group)'),
  }),
  pause: ActionBody,
  resume: ActionBody,
  abort: ActionBody,
  rollback: ActionBody,
  'promote-all': ActionBody,
  'skip-pod': ActionBody.extend({ pod: z.string().min(1).max(253) }),
  'bypass-window': ActionBody.extend({ reason: z.string().trim().min(1, 'why the change window is bypassed').max(1000) }),
} satisfies Record<ReleaseAction, z.ZodType>;
const ACTION_PERMISSIONS: Record<ReleaseAction, Permission> = {
  approve: 'release:approve',
  'promote-all': 'release:approve',
  'skip-pod': 'release:approve',
  pause: 'release:steer',
  resume: 'release:steer',
  abort: 'release:steer',
  rollback: 'release:steer',
  'bypass-window': 'release:bypass-window',
};

/** Which part of a release's status to answer with: every pod (default), no pod, or one group's (`current` too). */
const StatusQuery = z.strictObject({
  view: z.enum(['full', 'summary']).optional().describe('summary: counts per state, no pod list'),
  group: z
    .union([z.literal('current'), z.coerce.number().int().min(0)])
    .optional()
    .describe("only this group's pods (a group index, or `current`)"),
});
function statusView(q: z.infer<typeof StatusQuery>): StatusView | undefined {
  if (q.group !== undefined) return { group: q.group };
  return q.view ? { detail: q.view } : undefined;
}

/** Releases of an App: start (idempotent with a key), status, and every operator action. */
export const releaseRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(app) {
    const base = '/v1/tenants/:tenant/apps/:app/release';
    // errors of these routes name the Temporal address when Temporal does not answer (503)
    app.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));

    app.get(
      '/v1/tenants/:tenant/releases',
      {
        schema: {
          params: z.strictObject({ tenant: dnsLabel }),
          querystring: z.strictObject({
            app: dnsLabel.optional(),
            state: z.enum(LISTED_STATES).optional(),
            ticket: z.string().min(1).max(200).optional().describe('only the releases this ticket started'),
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
      {
        schema: {
          params: AppParams,
          headers: Headers,
          body: StartBody,
          tags: ['releases'],
          summary: 'Start a release (or queue it behind the one in flight, with queue: true; or plan it, with dryRun: true)',
          description:
            '201: started. 200: this Idempotency-Key and request started it before (same workflowId and runId). ' +
            '200 with dryRun: true: the plan a start would run, nothing started (any role may ask; refusals as a start). ' +
            '202: queued behind the release in flight (queue: true). 409: another release is in flight. ' +
            '422: this Idempotency-Key was used with a different request within 24 h.',
        },
      },
      async (req, reply) => {
        const identity = ctx.identify(req);
        const { dryRun, ...body } = req.body;
        const request = { ...body, app: req.params.app, tenant: req.params.tenant, requestedBy: identity.name };
        // a dry run changes nothing: whoever may read the App may see what a release of it would do
        TokenStore.authorize(identity, dryRun ? 'read' : 'release:start', req.params.tenant);
        if (dryRun) return reply.status(200).send(await ctx.releases.planRelease(request));
        const key = req.headers['idempotency-key'];
        const outcome = await ctx.releases.requestRelease(request, key ? { idempotencyKey: key } : {});
        if ('queued' in outcome) return reply.status(202).send({ queued: outcome.queued });
        const { created, ...ref } = outcome.started;
        return reply.status(created ? 201 : 200).send(ref);
      },
    );

    app.get(
      `${base}/queue`,
      {
        schema: { params: AppParams, tags: ['releases'], summary: 'Releases queued behind the one in flight, in order, and recent starts' },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return ctx.releases.queueStatus(req.params.tenant, req.params.app);
      },
    );

    app.get(
      base,
      { schema: { params: AppParams, querystring: StatusQuery, tags: ['releases'], summary: 'Status of the latest release' } },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return ctx.releases.status(`release/${req.params.tenant}/${req.params.app}`, statusView(req.query));
      },
    );

    app.get(
      '/v1/tenants/:tenant/apps/:app/releases/:runId',
      {
        schema: {
          params: AppParams.extend({ runId: z.uuid('must be a release run id, as listed by GET /v1/tenants/{tenant}/releases') }),
          querystring: StatusQuery,
          tags: ['releases'],
          summary: 'Status and audit trail of one release of the App, finished or not',
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return ctx.releases.status(
          { workflowId: `release/${req.params.tenant}/${req.params.app}`, runId: req.params.runId },
          statusView(req.query),
        );
      },
    );

    app.post(
      '/v1/tenants/:tenant/apps/:app/releases/:runId/catch-up',
      {
        schema: {
          params: AppParams.extend({ runId: z.uuid('must be a release run id, as listed by GET /v1/tenants/{tenant}/releases') }),
          headers: Headers,
          body: CatchUpRequestSchema.omit({ requestedBy: true }),
          tags: ['releases'],
          summary: 'Catch up a disaster-mode release: release exactly the cells its ledger still owes',
          description:
            '201: the catch-up release started (mask = the open ledger cells). 400 naming the field: the release is ' +
            'still running, skipped nothing, its ledger is closed, or the revision is older than its target. ' +
            '409: another release of the App is in flight.',
        },
      },
      async (req, reply) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'release:start', req.params.tenant);
        const key = req.headers['idempotency-key'];
        const started = await ctx.releases.catchUp(
          { workflowId: `release/${req.params.tenant}/${req.params.app}`, runId: req.params.runId },
          { ...req.body, requestedBy: identity.name },
          key ? { idempotencyKey: key } : {},
        );
        const { created, ...ref } = started;
        return reply.status(created ? 201 : 200).send(ref);
      },
    );

    // Operator actions are the release's Updates: answered once the workflow accepted (200, with what it
    // recorded) or refused them (409 with the reason: no gate for that group, pod not in this release, ...)
    for (const action of RELEASE_ACTIONS)
      app.post(
        `${base}/${action}`,
        {
          schema: {
            params: AppParams,
            body: ACTION_BODIES[action],
            tags: ['releases'],
            summary: `${action} the release (Temporal Update "${action}")`,
            description: 'Answers 200 with the audit entry recorded, 409 with the reason when the release refuses the action.',
          },
        },
        async (req) => {
          const identity = ctx.identify(req);
          TokenStore.authorize(identity, ACTION_PERMISSIONS[action], req.params.tenant);
          // the token's identity acts: a `by` in the body is overwritten, never trusted
          const input = { ...req.body, by: identity.name } as ActionInputs[typeof action];
          const result = await ctx.releases.act(`release/${req.params.tenant}/${req.params.app}`, action, input);
          return { ...result, by: identity.name };
        },
      );
  };
