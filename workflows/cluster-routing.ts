import { RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { agentNotPollingReason, agentQueueOf, agentScheduleToStartSeconds, type ClusterRoutes } from '../domain/cluster-queues.js';
import { FailureTypes } from '../domain/failures.js';
import { budgetedOptions, MUTATE_OPTIONS, scheduleToCloseSeconds, waitsOptions } from './activity-proxies.js';

/**
 * The activity profiles of activity-proxies.ts (mutate, budgeted, waits) for the activities that act on one
 * cluster. A cluster its release's routes name as agent-served gets them on its agent's queue
 * (`barista-cluster-<name>`, domain/cluster-queues.ts), bounded in how long they wait there; any other cluster,
 * and every release started before cluster agents (no routes), gets the central proxies, exactly as before.
 *
 * On an agent's queue, an activity no worker takes within its schedule-to-start budget fails with retry state
 * TIMEOUT and an `AgentNotPolling` cause naming the cluster and queue. The callers' existing handling then
 * says why: a budgeted step pauses the release (cluster-steps.ts untilDoneOrPaused, which sees a step out of
 * its budget), a pod step pauses on the pod (release-batch.ts describeFailure), a gate pauses with the reason.
 */
export function forCluster(routes: ClusterRoutes | undefined, cluster: string) {
  const queue = agentQueueOf(routes, cluster);
  return {
    mutate: routed(MUTATE_OPTIONS, cluster, queue),
    budgeted: (budgetSeconds: number) => routed(budgetedOptions(budgetSeconds), cluster, queue, scheduleToCloseSeconds(budgetSeconds)),
    // a wait's budget is its own deadline (the pod budget, the gate's timeout)
    waits: (deadlineSeconds: number) => routed(waitsOptions(deadlineSeconds), cluster, queue, deadlineSeconds),
  };
}

export type ClusterActivities = ReturnType<typeof forCluster>;

function routed(options: ActivityOptions, cluster: string, queue: string | undefined, closeSeconds?: number): Activities {
  if (!queue) return proxyActivities<Activities>(options);
  const startSeconds = agentScheduleToStartSeconds(closeSeconds);
  const proxy = proxyActivities<Activities>({ ...options, taskQueue: queue, scheduleToStartTimeout: `${startSeconds}s` });
  return new Proxy(proxy, {
    get(target, name) {
      const activity = Reflect.get(target, name) as unknown;
      if (typeof activity !== 'function') return activity;
      return async (...args: unknown[]) => {
        try {
          return (await (activity as (...a: unknown[]) => Promise<unknown>)(...args)) as unknown;
        } catch (err) {
          throw asAgentNotPolling(err, cluster, startSeconds);
        }
      };
    },
  });
}

/**
 * A schedule-to-start timeout on an agent's queue, as a failure that names the agent: Temporal's own says only
 * "activity timed out". Any other error is returned unchanged.
 */
export function asAgentNotPolling(err: unknown, cluster: string, seconds: number): unknown {
  if (!(err instanceof ActivityFailure)) return err;
  if (!(err.cause instanceof TimeoutFailure) || err.cause.timeoutType !== TimeoutType.SCHEDULE_TO_START) return err;
  const reason = agentNotPollingReason(cluster, seconds);
  const cause = ApplicationFailure.create({
    message: reason,
    type: FailureTypes.agentNotPolling,
    nonRetryable: true,
    details: [{ cluster }],
  });
  return new ActivityFailure(reason, err.activityType, err.activityId, RetryState.TIMEOUT, err.identity, cause);
}

/** A release's routes as its batch child workflows receive them (absent: every cluster central, as before). */
export function routesOf(agentClusters: string[] | undefined): ClusterRoutes | undefined {
  return agentClusters ? { agentServed: agentClusters } : undefined;
}
