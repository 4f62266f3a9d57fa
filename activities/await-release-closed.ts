import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

/** How often the wait reads the release's state (one describe call), heartbeating each time. */
const POLL_MS = 2_000;

/**
 * Waits until the release run `ref` has closed (completed, failed, terminated, timed out, continued as new),
 * for a queued release that waits its turn. Heartbeats the run's status while it waits; a cancelled activity
 * stops waiting at once. A run that no longer exists counts as closed.
 */
export function createAwaitReleaseClosed(temporal: Client) {
  return async function awaitReleaseClosed(ref: { workflowId: string; runId?: string }): Promise<{ status: string }> {
    const ctx = Context.current();
    const handle = temporal.workflow.getHandle(ref.workflowId, ref.runId);
    for (;;) {
      const status = await handle.describe().then(
        (d) => d.status.name,
        (err: unknown) => {
          if ((err as Error).name === 'WorkflowNotFoundError') return 'NOT_FOUND';
          throw err;
        },
      );
      if (status !== 'RUNNING') return { status };
      ctx.heartbeat({ waitingFor: ref.runId, status });
      await ctx.sleep(POLL_MS);
    }
  };
}
