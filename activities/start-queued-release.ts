import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { IdempotencyKeyReusedError } from '../api/errors.js';
import { ReleaseClient } from '../api/release-client.js';
import { DomainError, type ReleaseRequest } from '../domain/index.js';
import type { QueuedStartResult } from '../workflows/queued-release.js';
import type { AppReleaseInput } from '../workflows/app-release.js';

/**
 * Starts a queued release through the same start as the API (so from/to are those of this moment, and every
 * check runs again), keyed so that a retried attempt finds the release it started instead of queueing
 * behind it. Another release in flight: `behind` it. A request that can no longer start (App or revision
 * gone, plan no longer fits): `refused` with the reason. Anything else (Temporal unavailable) is retried.
 */
export function createStartQueuedRelease(temporal: Client) {
  return async function startQueuedRelease(input: { request: ReleaseRequest; idempotencyKey: string }): Promise<QueuedStartResult> {
    // the release runs on this worker's task queue, as the queue itself does
    const releases = new ReleaseClient(temporal, Context.current().info.taskQueue);
    try {
      const { workflowId, runId } = await releases.startRelease(input.request, { idempotencyKey: input.idempotencyKey });
      return { started: { workflowId, runId } };
    } catch (err) {
      if (err instanceof DomainError && err.code === 'CONFLICT') {
        const { workflowId, runId } = err.details as { workflowId: string; runId: string };
        return { behind: { workflowId, runId } };
      }
      if (err instanceof DomainError || err instanceof IdempotencyKeyReusedError) return { refused: err.message };
      throw err;
    }
  };
}

/**
 * The input of a ticket's App release, prepared as the API's start prepares it (App, revisions, plan checked
 * now). A request that cannot start (App or revision gone, plan does not fit): `refused` with the reason.
 */
export function createPrepareRelease(temporal: Client) {
  return async function prepareRelease(input: { request: unknown }): Promise<{ input: AppReleaseInput } | { refused: string }> {
    const releases = new ReleaseClient(temporal, Context.current().info.taskQueue);
    try {
      return { input: await releases.prepareRelease(input.request) };
    } catch (err) {
      if (err instanceof DomainError) return { refused: err.message };
      throw err;
    }
  };
}
