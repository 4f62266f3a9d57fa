import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';
import { NoWorkerError } from './errors.js';

/**
 * How recently a poller must have polled to count as a running worker. A worker re-polls as soon as a poll ends and
 * the server holds a poll at most a minute, so a live worker is seen within ~60 s; Temporal lists a poller for 5
 * minutes after its last poll, which is why the age matters.
 */
export const POLLER_FRESH_MS = 75_000;

const GRPC_UNIMPLEMENTED = 12;

/** Workflow-task pollers of `taskQueue` seen within POLLER_FRESH_MS, and when the latest poll of any was. */
export async function workflowPollers(
  client: Client,
  taskQueue: string,
  now = Date.now(),
): Promise<{ fresh: number; lastPollAt?: number }> {
  const described = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const polls = (described.pollers ?? []).map((p) =>
    p.lastAccessTime ? Number(String(p.lastAccessTime.seconds ?? 0)) * 1000 + Math.floor((p.lastAccessTime.nanos ?? 0) / 1e6) : 0,
  );
  const lastPollAt = polls.length ? Math.max(...polls) : undefined;
  return { fresh: polls.filter((at) => now - at < POLLER_FRESH_MS).length, ...(lastPollAt ? { lastPollAt } : {}) };
}

/**
 * Throws NoWorkerError when no worker polls `taskQueue` for workflow tasks: a query or an Update would wait for one
 * until its deadline (half a minute) and then fail without saying why. One DescribeTaskQueue call, no worker needed.
 */
export async function ensureWorkerPolls(client: Client, taskQueue: string): Promise<void> {
  let pollers: Awaited<ReturnType<typeof workflowPollers>>;
  try {
    pollers = await workflowPollers(client, taskQueue);
  } catch (err) {
    // a server without DescribeTaskQueue (Temporal's time-skipping test server) cannot tell: the request goes on
    if ((err as { code?: unknown }).code === GRPC_UNIMPLEMENTED) return;
    throw err;
  }
  const { fresh, lastPollAt } = pollers;
  if (fresh > 0) return;
  const last = lastPollAt ? `the last poll was ${Math.round((Date.now() - lastPollAt) / 1000)}s ago` : 'none has polled it';
  throw new NoWorkerError(taskQueue, client.options.namespace, `no worker polls it (${last})`);
}
