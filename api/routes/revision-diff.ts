import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TokenStore } from '../auth.js';
import type { ApiContext } from '../context.js';
import { createErrorHandler } from '../errors.js';
import { AppParams } from './apps.js';

const revisionNumber = (which: string) =>
  z.coerce
    .number({ error: `${which} must be a revision number` })
    .int(`${which} must be a whole revision number`)
    .positive(`${which} must be a revision number ≥ 1`);

/** An App's revisions compared: what changes from one to another (template, env, overrides, replicas). */
export const revisionDiffRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(app) {
    // errors of these routes name the Temporal address when Temporal does not answer (503)
    app.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));

    app.get(
      '/v1/tenants/:tenant/apps/:app/revisions/:a/diff/:b',
      {
        schema: {
          params: AppParams.extend({ a: revisionNumber('a'), b: revisionNumber('b') }),
          tags: ['apps'],
          summary: 'What changes from revision a to revision b of an App',
          description:
            'Each change with its field, kind (added, removed, changed), values and a line to read: containers (image, env, ' +
            'other fields), pod annotations and labels, replicasPerCell, per-cell and per-cluster overrides, metadata policy. ' +
            '404 names the revisions the App does not have (or no longer keeps).',
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return ctx.releases.revisionDiff(req.params.tenant, req.params.app, req.params.a, req.params.b);
      },
    );
  };
