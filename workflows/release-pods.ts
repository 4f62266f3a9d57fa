import { condition, patched } from '@temporalio/workflow';
import type { PodRef, ReleasePlan, Revision } from '../domain/index.js';
import { mutate, waits } from './activity-proxies.js';
import { describeFailure, STEPS_AFTER_UPGRADE } from './release-batch.js';
import type { ReleaseTracker } from './release-state.js';

/**
 * v1, kept for releases started before batches (workflows/release-batches.ts): in-flight releases replay it.
 * Moves `pods` to `revision` through the per-pod protocol, at most `maxConcurrentPods` at once. A pod that
 * fails pauses the release (or requests a rollback, if the strategy says so) and is retried on resume;
 * `stop()` ends the run after the pod steps in hand.
 */
export async function releasePods(
  t: ReleaseTracker,
  plan: ReleasePlan,
  pods: PodRef[],
  revision: Revision,
  opts: { stop: () => boolean; rollingBack: boolean },
): Promise<void> {
  const queue = [...pods];
  const lanes = Math.min(plan.strategy.maxConcurrentPods, queue.length);
  const lane = async () => {
    for (let pod = queue.shift(); pod; pod = queue.shift()) await releasePod(t, plan, pod, revision, opts);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function releasePod(
  t: ReleaseTracker,
  plan: ReleasePlan,
  ref: PodRef,
  revision: Revision,
  opts: { stop: () => boolean; rollingBack: boolean },
) {
  const pod = t.pod(ref.name);
  const { ensurePodReleased } = waits(plan.strategy.podTimeoutSeconds);
  for (;;) {
    await condition(() => !t.paused || opts.stop() || t.skipped.has(pod.name));
    if (opts.stop()) return;
    if (t.skipped.has(pod.name) && !opts.rollingBack) {
      pod.state = 'skipped';
      // v2: a skipped pod that this release drained is handed back to the gate keeper
      if (pod.changed && patched('hand-back-skipped-pods')) {
        await mutate.ensurePodHandedBack({ cluster: pod.cluster, namespace: plan.app.namespace, pod: pod.name });
      }
      return;
    }
    pod.state = 'in-progress';
    pod.startedAt = new Date().toISOString();
    delete pod.step;
    delete pod.error;
    try {
      const result = await ensurePodReleased({
        cluster: pod.cluster,
        namespace: plan.app.namespace,
        app: plan.app.name,
        tenant: plan.app.tenant,
        workspace: plan.app.workspace,
        cell: pod.cell,
        pod: pod.name,
        traffic: plan.app.traffic,
        revision,
        mode: plan.strategy.mode,
        podTimeoutSeconds: plan.strategy.podTimeoutSeconds,
      });
      Object.assign(pod, {
        state: 'done',
        revision: revision.number,
        changed: pod.changed || result.changed,
        ip: result.ip,
        finishedAt: new Date().toISOString(),
      });
      return;
    } catch (err) {
      const failure = describeFailure(err, pod.name);
      Object.assign(pod, { state: 'failed', step: failure.step, error: failure.reason, changed: true });
      // past the upgrade the pod runs the revision, even if it never became ready: status reports it so
      if (STEPS_AFTER_UPGRADE.includes(failure.step)) pod.revision = revision.number;
      t.record('barista', 'pod-failed', `${pod.name} at ${failure.step}: ${failure.reason}`);
      if (plan.strategy.onFailure === 'rollback' && !opts.rollingBack && plan.from) {
        t.rollbackRequested = { by: 'barista', reason: `pod ${pod.name} failed at ${failure.step}: ${failure.reason}` };
        return;
      }
      t.pause({ reason: failure.reason, pod: pod.name, step: failure.step, by: 'barista' });
      const resumes = t.resumeCount;
      await condition(() => t.resumeCount > resumes || opts.stop() || t.skipped.has(pod.name));
      if (t.skipped.has(pod.name) && t.paused?.pod === pod.name) t.resume();
    }
  }
}
