import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import type { PodProgress } from '../activities/pod-attempt.js';

/** What a pod in flight is doing now, as its ensurePodReleased attempt last heartbeated it. */
export interface PodStep {
  step: string;
  since?: string;
  waitingFor?: string;
}

/**
 * The steps of the pods a batch child is moving right now, read from its pending activities' heartbeat details
 * (activities/pod-attempt.ts sends each new step at once). A batch that cannot be described gives none.
 */
export async function podStepsOf(handle: WorkflowHandle): Promise<Map<string, PodStep>> {
  const steps = new Map<string, PodStep>();
  const { raw } = await handle.describe();
  for (const activity of raw.pendingActivities ?? []) {
    if (activity.activityType?.name !== 'ensurePodReleased') continue;
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    const details = defaultPayloadConverter.fromPayload<Partial<PodProgress>>(payload);
    if (!details?.pod || !details.step) continue;
    steps.set(details.pod, {
      step: details.step,
      ...(typeof details.stepSince === 'number' ? { since: new Date(details.stepSince).toISOString() } : {}),
      ...(details.waitingFor ? { waitingFor: details.waitingFor } : {}),
    });
  }
  return steps;
}
