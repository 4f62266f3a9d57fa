import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ReleaseRequest } from '../domain/index.js';
import {
  enqueueUpdate,
  QUEUE_TICKET_REUSED,
  queueStatusQuery,
  releaseQueueId,
  type QueueEntryStatus,
  type ReleaseQueueStatus,
} from '../workflows/queued-release.js';
import { SA } from '../workflows/search-attributes.js';
import { IdempotencyKeyReusedError, isTemporalUnavailable } from './errors.js';

/** A queued release, as the API answers it (202). */
export interface QueuedReleaseRef extends QueueEntryStatus {
  /** Workflow id of the App's release queue. */
  queue: string;
}

/** Attempts to enqueue: a queue that ends just as the request arrives is started again on the next attempt. */
const ENQUEUE_ATTEMPTS = 3;

/**
 * Puts a release request in the App's queue (one `releaseQueue` workflow per App, started if none runs): it
 * starts when the release in flight (`behind`) and every release queued before it have started and ended.
 * The same ticket (idempotency key) with the same request finds its entry again; with another request it is
 * refused (IdempotencyKeyReusedError).
 */
export async function enqueueRelease(
  client: Client,
  taskQueue: string,
  entry: { ticket: string; request: ReleaseRequest; requestHash: string; idempotencyKey?: string; behind?: string },
): Promise<QueuedReleaseRef> {
  const { tenant, app } = entry.request;
  const queue = releaseQueueId(tenant, app);
  for (let attempt = 1; ; attempt++) {
    try {
      const status = await client.workflow.executeUpdateWithStart(enqueueUpdate, {
        args: [entry],
        startWorkflowOperation: new WithStartWorkflowOperation('releaseQueue', {
          workflowId: queue,
          taskQueue,
          args: [{ tenant, app, entries: [] }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: [
            { key: SA.app, value: app },
            { key: SA.tenant, value: tenant },
            { key: SA.kind, value: 'release-queue' },
          ],
        }),
      });
      return { queue, ...status };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        if (err.cause.type === QUEUE_TICKET_REUSED) throw new IdempotencyKeyReusedError(entry.ticket, { workflowId: queue });
        throw err;
      }
      // e.g. the queue closed after its idle time while this update was on its way: the next attempt starts it anew
      if (attempt >= ENQUEUE_ATTEMPTS || isTemporalUnavailable(err)) throw err;
    }
  }
}

/** The App's release queue: what waits (in order, with what it waits behind) and what recently started. */
export async function readQueue(client: Client, tenant: string, app: string): Promise<ReleaseQueueStatus> {
  try {
    return await client.workflow.getHandle(releaseQueueId(tenant, app)).query(queueStatusQuery);
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return { tenant, app, entries: [] };
    throw err;
  }
}
