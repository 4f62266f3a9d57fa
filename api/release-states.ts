import { RELEASE_STATES, type ReleaseState } from '../workflows/release-status.js';

/**
 * Ends a release's workflow cannot write itself: Temporal terminated it (by hand, or by a reset that started a
 * new run), it timed out, or it was cancelled. Lists, status and metrics show these instead of the last state
 * the workflow wrote, so no ended release looks alive.
 */
export const CLOSED_BY_TEMPORAL = {
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
  cancelled: 'Canceled',
} as const;
export type ClosedState = keyof typeof CLOSED_BY_TEMPORAL;

/** Every state a listed release can be in: Barista's own, and the ends only Temporal knows. */
export const LISTED_STATES = [...RELEASE_STATES, ...(Object.keys(CLOSED_BY_TEMPORAL) as ClosedState[])] as const;
export type ListedState = ReleaseState | ClosedState;

const FINAL: readonly string[] = ['succeeded', 'succeeded-with-skips', 'aborted', 'rolled-back', 'failed'];

/** The release has ended, by itself or by Temporal: nothing in it moves any more. */
export function isEnded(state: string): boolean {
  return FINAL.includes(state) || state in CLOSED_BY_TEMPORAL;
}

/**
 * The state to show for a release, from the state its workflow last wrote and Temporal's execution status
 * (visibility names: Running, Completed, Failed, Terminated, TimedOut, Canceled, ContinuedAsNew).
 */
export function effectiveState(written: string | undefined, executionStatus: string): ListedState {
  const status = normalise(executionStatus);
  for (const [state, name] of Object.entries(CLOSED_BY_TEMPORAL)) if (status === name.toLowerCase()) return state as ClosedState;
  if (status === 'failed') return 'failed';
  if (written && (RELEASE_STATES as readonly string[]).includes(written)) return written as ReleaseState;
  return status === 'running' ? 'planning' : 'failed';
}

/** A visibility query clause selecting releases in `state` as effectiveState() shows it. */
export function stateClause(state: ListedState): string {
  if (state in CLOSED_BY_TEMPORAL) return `ExecutionStatus = '${CLOSED_BY_TEMPORAL[state as ClosedState]}'`;
  if (state === 'failed') return `(BaristaState = 'failed' OR ExecutionStatus = 'Failed')`;
  // a release still running, or one that ended by itself in that state
  if (FINAL.includes(state)) return `BaristaState = '${state}' AND ExecutionStatus = 'Completed'`;
  return `BaristaState = '${state}' AND ExecutionStatus = 'Running'`;
}

/** `TIMED_OUT`, `TimedOut` → `timedout`; `CANCELLED` → `canceled`: the client and visibility spell statuses differently. */
function normalise(status: string): string {
  return status.replace(/[_-]/g, '').toLowerCase().replace('cancelled', 'canceled');
}
