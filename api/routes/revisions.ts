import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RevisionVerdict } from '../../domain/index.js';
import { TokenStore } from '../auth.js';
import type { ApiContext } from '../context.js';
import { createErrorHandler } from '../errors.js';
import { RevisionClient } from '../revision-client.js';
import { AppParams } from './apps.js';

const RevisionParams = AppParams.extend({
  revision: z.coerce.number().int('must be a whole revision number').positive('must be a revision number ≥ 1'),
});
/** Why the revision is marked; required (recorded in the App's history and the audit record). A `by` is ignored. */
const MarkFields = z.strictObject({
  reason: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required: why the revision is marked' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty: why the revision is marked')
    .max(1000),
  by: z.unknown().optional().describe('ignored: the mark is recorded under the identity of the bearer token'),
});
// no body at all (Fastify hands over null) is a missing reason, not a body of the wrong type
const MarkBody = z.preprocess((body) => body ?? {}, MarkFields);

/** An App's revision history, and marking a revision bad (plain releases refuse it) or good. */
export const revisionRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async function routes(app) {
    const revisions = new RevisionClient(ctx.releases);
    app.setErrorHandler(createErrorHandler({ temporalAddress: ctx.releases.temporalAddress }));

    app.get(
      '/v1/tenants/:tenant/apps/:app/revisions',
      {
        schema: {
          params: AppParams,
          tags: ['apps'],
          summary: "An App's kept revisions, newest first: when, by whom, images, the cells running each now, and its mark",
        },
      },
      async (req) => {
        TokenStore.authorize(ctx.identify(req), 'read', req.params.tenant);
        return revisions.history(req.params.tenant, req.params.app);
      },
    );

    for (const verdict of ['bad', 'good'] as const satisfies readonly RevisionVerdict[])
      app.post(
        `/v1/tenants/:tenant/apps/:app/revisions/:revision/mark-${verdict}`,
        {
          schema: {
            params: RevisionParams,
            body: MarkBody,
            tags: ['apps'],
            summary:
              verdict === 'bad'
                ? 'Mark a revision bad: a release without a revision then refuses it as its target'
                : 'Mark a revision good (lifts a bad mark)',
            description:
              '200 `{ tenant, app, revision, mark, previous? }`. 400 naming `reason` (required); 404 naming a revision ' +
              'the App does not keep; 403 without the role that starts releases.',
          },
        },
        async (req) => {
          const identity = ctx.identify(req);
          TokenStore.authorize(identity, 'revision:mark', req.params.tenant);
          return revisions.mark(req.params.tenant, req.params.app, {
            revision: req.params.revision,
            verdict,
            reason: req.body.reason,
            by: identity.name,
          });
        },
      );
  };
