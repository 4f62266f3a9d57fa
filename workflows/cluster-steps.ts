import { RetryState } from '@temporalio/common';
import { ActivityFailure, condition, patched, TimeoutFailure } from '@temporalio/workflow';
import type { ReleaseTracker } from './release-state.js';

/**
 * Runs a cluster-facing step (resolve cells, ensure a workload) whose activity retries transient errors
 * for a bounded time (its scheduleToClose budget). Past the budget the release pauses with the step and the
 * last error (an unreachable cluster, say), and the step runs again on resume. Any other failure
 * (invalid input, forbidden, unknown cell) propagates as before. Returns undefined if `stop()` turns true
 * while paused here (by default: the release is aborted or asked to roll back).
 */
export async function untilDoneOrPaused<T>(
  t: ReleaseTracker,
  step: string,
  run: () => Promise<T>,
  stop: () => boolean = () => t.stopRequested,
): Promise<T | undefined> {
  for (;;) {
    try {
      return await run();
    } catch (err) {
      // v2: before, these activities retried for ever and a failing cluster left the release silently running
      if (!outOfBudget(err) || !patched('pause-on-failing-cluster')) throw err;
      const reason = `${step} did not succeed in time: ${lastError(err)}`;
      t.record('barista', 'step-failed', reason);
      t.pause({ reason, step, by: 'barista' });
      const resumes = t.resumeCount;
      await condition(() => t.resumeCount > resumes || stop());
      if (stop()) return undefined;
    }
  }
}

/**
 * The activity ran out of its scheduleToClose budget: either an attempt timed out, or the next retry would
 * have passed the budget, and Temporal handed back the last attempt's error with retry state TIMEOUT.
 */
function outOfBudget(err: unknown): err is ActivityFailure {
  return err instanceof ActivityFailure && (err.retryState === RetryState.TIMEOUT || err.cause instanceof TimeoutFailure);
}

/**
 * What actually went wrong: the innermost cause's message. Temporal wraps the last attempt's error in a
 * timeout ("Not enough time to schedule next retry…"), which says nothing about the cluster.
 */
function lastError(err: Error): string {
  let deepest: Error = err;
  while (deepest.cause instanceof Error) deepest = deepest.cause;
  return deepest.message;
}
