import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dnsLabel } from '../../domain/index.js';
import { TokenStore } from '../auth.js';
import type { ApiContext } from '../context.js';
import { MAX_DRIFT_INTERVAL_SECONDS, MAX_DRIFT_REPORTS, MIN_DRIFT_INTERVAL_SECONDS } from '../drift-client.js';
import { createErrorHandler } from '../errors.js';

const Params = z.strictObject({ tenant: dnsLabel });
const ReportsQuery = z.strictObject({
  app: dnsLabel.optional().describe("only this App's part of each report"),
  limit: z.coerce.number().int().min(1).max(MAX_DRIFT_REPORTS).default(10),
});
const RunBody = z
  .strictObject({
    dryRun: z.boolean().optional().describe('report only: nothing is changed'),
    apps: z.array(dnsLabel).min(1).max(1000).optional().describe('only these Apps (default: every App of the tenant)'),
  })
  .nullish(); // a POST without a body: every App, repairing
const PauseBody = z.strictObject({ reason: z.string().trim().min(1).max(500).describe('why (shown with who paused it)') });
const UnpauseBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() }).nullish();
const IntervalBody = z.strictObject({
  intervalSeconds: z.number().int().min(MIN_DRIFT_INTERVAL_SECONDS).max(MAX_DRIFT_INTERVAL_SECONDS),
});

/**
 * Drift repair of a tenant (docs/drift.md): its reports, runs by hand, and its Temporal Schedule. Reading is
 * `read`; a run by hand `drift:run` (releaser, admin); the Schedule `drift:schedule` (admin).
 */
export const driftRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(server) {
    server.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));
    const base = '/v1/tenants/:tenant/drift';
    const schedule = `${base}/schedule`;

    server.get(
      base,
      {
        schema: {
          params: Params,
          querystring: ReportsQuery,
          tags: ['drift'],
          summary: "A tenant's recent drift runs, newest first, each with its report (so far, or final)",
          description:
            '`{ runs: [{ workflowId, runId, status, startTime, closeTime?, by?, dryRun?, report? }] }`; a run that failed or was ' +
            'terminated has its status and no report.',
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        const { app, limit } = req.query;
        return { runs: await ctx.drift.driftReports(req.params.tenant, { limit, ...(app ? { app } : {}) }) };
      },
    );

    server.post(
      `${base}/runs`,
      {
        schema: {
          params: Params,
          body: RunBody,
          tags: ['drift'],
          summary: 'Start a drift run now (optionally a dry run, optionally of some Apps)',
          description: '202 `{ workflowId, runId }`; 409 while a repairing run of the tenant is in flight.',
        },
      },
      async (req, reply) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'drift:run', req.params.tenant);
        const started = await ctx.drift.startDriftRun(req.params.tenant, { ...(req.body ?? {}), by: identity.name });
        return reply.status(202).send(started);
      },
    );

    server.get(
      schedule,
      { schema: { params: Params, tags: ['drift'], summary: "The tenant's drift Schedule: interval, paused (by whom, why), next runs" } },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return ctx.drift.describeDriftSchedule(req.params.tenant);
      },
    );

    server.put(
      schedule,
      {
        schema: {
          params: Params,
          body: IntervalBody,
          tags: ['drift'],
          summary: "Set the Schedule's interval (creates the Schedule when absent; pause state unchanged)",
        },
      },
      async (req, reply) => {
        TokenStore.authorize(ctx.identify(req), 'drift:schedule', req.params.tenant);
        const { created, schedule: view } = await ctx.drift.setDriftInterval(req.params.tenant, req.body.intervalSeconds);
        return reply.status(created ? 201 : 200).send(view);
      },
    );

    server.post(
      `${schedule}/pause`,
      { schema: { params: Params, body: PauseBody, tags: ['drift'], summary: 'Pause the Schedule; it shows who paused it and why' } },
      async (req) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'drift:schedule', req.params.tenant);
        return ctx.drift.pauseDriftSchedule(req.params.tenant, identity.name, req.body.reason);
      },
    );

    server.post(
      `${schedule}/unpause`,
      { schema: { params: Params, body: UnpauseBody, tags: ['drift'], summary: 'Unpause the Schedule' } },
      async (req) => {
        const identity = ctx.identify(req);
        TokenStore.authorize(identity, 'drift:schedule', req.params.tenant);
        return ctx.drift.unpauseDriftSchedule(req.params.tenant, identity.name, req.body?.reason);
      },
    );

    server.post(
      `${schedule}/trigger`,
      {
        schema: {
          params: Params,
          body: z.strictObject({}).nullish(),
          tags: ['drift'],
          summary: 'Start a scheduled run now (nothing starts while a run is in flight: overlap policy skip)',
        },
      },
      async (req, reply) => {
        TokenStore.authorize(ctx.identify(req), 'drift:schedule', req.params.tenant);
        return reply.status(202).send(await ctx.drift.triggerDriftSchedule(req.params.tenant));
      },
    );
  };
