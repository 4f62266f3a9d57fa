import { proxyActivities } from '@temporalio/workflow';
import type { Activities, ReleaseQueueActivities } from '../activities/index.js';
import { NON_RETRYABLE } from './activity-proxies.js';

/**
 * Drift repair's activities. Every read and short write has a bounded budget: a cluster or Temporal that does
 * not answer fails that App or cell for this run (reported; the next run tries again), never a tight loop
 * and never a run waiting for ever.
 */
const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE };

export const reads = proxyActivities<ReleaseQueueActivities>({ startToCloseTimeout: '30s', scheduleToCloseTimeout: '90s', retry });

export const cells = proxyActivities<Activities>({ startToCloseTimeout: '30s', scheduleToCloseTimeout: '90s', retry });

/** Workload and pod metadata repairs, and lifting stale finalizers. */
export const repairs = proxyActivities<Activities>({ startToCloseTimeout: '60s', scheduleToCloseTimeout: '3m', retry });

/** The per-pod protocol: bounded by its own pod budget (DRIFT_POD_TIMEOUT_SECONDS), heartbeating. */
export const DRIFT_POD_TIMEOUT_SECONDS = 300;
export const podRepairs = proxyActivities<Activities>({
  startToCloseTimeout: `${DRIFT_POD_TIMEOUT_SECONDS + 60}s`,
  heartbeatTimeout: '15s',
  retry,
});

/** The report goes to the audit store and the metrics: retried until it is stored (PostgreSQL restarting). */
export const { recordDriftReport } = proxyActivities<Activities>({ startToCloseTimeout: '60s', retry });
