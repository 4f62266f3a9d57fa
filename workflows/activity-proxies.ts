import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities, ReleaseQueueActivities } from '../activities/index.js';
import { FailureTypes } from '../domain/failures.js';

export const NON_RETRYABLE = [
  FailureTypes.invalidInput,
  FailureTypes.forbidden,
  FailureTypes.unknownCell,
  FailureTypes.unknownCluster,
  FailureTypes.podStepTimeout,
  FailureTypes.gateFailed,
];

/** Transient errors (network, 5xx, 429, 409, API server restarting) retry with capped backoff, forever. */
const retry: ActivityOptions['retry'] = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  nonRetryableErrorTypes: NON_RETRYABLE,
};

/** Short reads and writes: resolve cells, ensure a workload. */
export const MUTATE_OPTIONS: ActivityOptions = { startToCloseTimeout: '60s', retry };
export const mutate = proxyActivities<Activities>(MUTATE_OPTIONS);

/**
 * Cluster-facing steps with a budget: transient errors are retried for `budgetSeconds` in all, then the
 * activity fails with a timeout (its last error attached) and the release pauses (see cluster-steps.ts).
 */
export function budgeted(budgetSeconds: number) {
  return proxyActivities<Activities>(budgetedOptions(budgetSeconds));
}

export function budgetedOptions(budgetSeconds: number): ActivityOptions {
  return { startToCloseTimeout: '60s', scheduleToCloseTimeout: `${scheduleToCloseSeconds(budgetSeconds)}s`, retry };
}

/** A budgeted step's scheduleToClose: its budget, 5 s at least (one request deadline and a retry fit). */
export function scheduleToCloseSeconds(budgetSeconds: number): number {
  return Math.max(budgetSeconds, 5);
}

/**
 * How long a wait may go without a heartbeat before Temporal gives its attempt up and retries it: the worker
 * died or hangs. The activities heartbeat every 5 s whatever they do (POD_HEARTBEAT_INTERVAL_MS in
 * activities/pod-attempt.ts, HEARTBEAT_MS in activities/await-group-stable.ts), and an attempt given up learns
 * it from its next heartbeat and cancels its Kubernetes requests, so it never writes after its successor.
 */
const WAIT_HEARTBEAT_TIMEOUT = '15s';

/**
 * Per-pod protocol and verification waits: long, watch-based, heartbeating progress. The activity enforces its
 * own deadline (the pod budget, the gate timeout), counted from its first attempt; startToClose is a backstop
 * above it: the deadline, one request deadline and the time to name the cause fit well within 60 s.
 */
export function waits(deadlineSeconds: number) {
  return proxyActivities<Activities>(waitsOptions(deadlineSeconds));
}

export function waitsOptions(deadlineSeconds: number): ActivityOptions {
  return { startToCloseTimeout: `${deadlineSeconds + 60}s`, heartbeatTimeout: WAIT_HEARTBEAT_TIMEOUT, retry };
}

/**
 * The activities that only talk to Temporal (start, prepare and await releases; read tenant settings): short calls
 * retried with capped backoff, and the wait for a release to close, which may last days (a release at a gate): its
 * heartbeat tells a lost worker from a long wait.
 */
export const temporalSide = proxyActivities<ReleaseQueueActivities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});
/**
 * The tenant's change windows, read from its settings workflow: retried for a minute in all, then the release
 * pauses naming why (cluster-steps.ts untilDoneOrPaused) rather than waiting silently for a settings workflow
 * nobody answers for.
 */
export const { activeChangeWindow } = proxyActivities<ReleaseQueueActivities>({
  startToCloseTimeout: '20s',
  scheduleToCloseTimeout: '60s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});
export const { awaitReleaseClosed } = proxyActivities<ReleaseQueueActivities>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});
/**
 * A release takes its App over from a drift repair run before it changes anything; the answer waits at most for
 * the one pod the repair has in hand (its per-pod budget), heartbeating meanwhile.
 */
export const { awaitDriftYield } = proxyActivities<ReleaseQueueActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * Which clusters are agent-served (workflows/cluster-routing.ts), from the central worker's configuration: a local
 * read on the release's own queue, retried with capped backoff until a worker answers.
 */
export const { clusterRoutes } = proxyActivities<ReleaseQueueActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});
