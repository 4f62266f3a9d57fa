import { condition, getExternalWorkflowHandle, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import { batchesOf, laneSlots, revisionFor, type PodRef, type ReleasePlan, type Revision } from '../domain/index.js';
import {
  batchControlSignal,
  batchPodFailedSignal,
  RELEASE_WORKFLOW_TASK_TIMEOUT,
  type BatchControl,
  type BatchPodFailure,
} from './definitions.js';
import { releaseBatch } from './release-batch.js';
import type { LiveBatch, ReleaseTracker } from './release-state.js';

/**
 * Moves `pods` (one group, or a rollback's) to `revision` in batches, each a ReleaseBatch child workflow, the
 * strategy's maxConcurrentPods shared among the batches running at once. Returns when every batch has ended;
 * the tracker then holds each pod's final state. `stop()` makes the batches start no more pods.
 */
export async function releaseInBatches(
  t: ReleaseTracker,
  plan: ReleasePlan,
  pods: PodRef[],
  revision: Revision,
  opts: { stop: () => boolean; rollingBack: boolean; group: number | 'rollback' },
): Promise<void> {
  const batches = batchesOf(pods);
  // the unavailability budget caps the pods in flight too: each of them is out of service while it moves
  const slots = laneSlots(
    Math.min(plan.strategy.maxConcurrentPods, plan.budget?.maxUnavailable ?? Infinity),
    batches.map((b) => b.length),
  );
  const queue = batches.map((batch, i) => ({ batch, i }));
  const control = (b: Pick<LiveBatch, 'pods'>): BatchControl => ({
    paused: t.paused !== undefined,
    resumeCount: t.resumeCount,
    stop: opts.stop(),
    skipped: b.pods.filter((p) => t.skipped.has(p)),
    ...(t.mode === 'disaster' ? { lost: [...t.lostClusters.keys()] } : {}),
  });
  let finished = false;
  const live = t.liveBatches;
  void keepBatchesInControl(live, control, () => finished);
  void resumeWhenPausedPodIsSkipped(t, () => finished);

  const { workflowId, runId } = workflowInfo();
  const label = opts.group === 'rollback' ? 'rollback' : `g${opts.group}`;
  const runBatch = async (batch: PodRef[], i: number, lanes: number) => {
    const names = batch.map((p) => p.name);
    const sent = control({ pods: names });
    const child = await startChild(releaseBatch, {
      // unique per run of the release: a reset release starts its batches afresh
      workflowId: `${workflowId}/${runId.slice(0, 8)}/${label}-b${i}`,
      workflowTaskTimeout: RELEASE_WORKFLOW_TASK_TIMEOUT,
      args: [
        {
          release: workflowId,
          batch: `${opts.group === 'rollback' ? 'rollback' : `group ${opts.group}`} batch ${i + 1}/${batches.length}`,
          app: plan.app,
          revision: revisionFor(revision, new Set(batch.map((p) => p.cell))),
          mode: plan.strategy.mode,
          podTimeoutSeconds: plan.strategy.podTimeoutSeconds,
          lanes,
          ...(plan.budget ? { budget: plan.budget } : {}),
          rollingBack: opts.rollingBack,
          rollbackOnFailure: plan.strategy.onFailure === 'rollback' && plan.from !== undefined,
          pods: batch.map((p) => t.pod(p.name)),
          control: sent,
          // absent for releases started before cluster agents: the batch keeps every step on the central queue
          ...(t.routes ? { agentClusters: t.routes.agentServed } : {}),
        },
      ],
    });
    const from = t.summary(names.map((n) => t.pod(n)));
    live.set(child.workflowId, { workflowId: child.workflowId, group: opts.group, pods: names, from, sent: JSON.stringify(sent) });
    try {
      const result = await child.result();
      for (const pod of result.pods) Object.assign(t.pod(pod.name), pod);
    } finally {
      live.delete(child.workflowId);
    }
  };
  try {
    await Promise.all(
      slots.map(async (lanes) => {
        for (let next = queue.shift(); next; next = queue.shift()) await runBatch(next.batch, next.i, lanes);
      }),
    );
  } finally {
    finished = true;
  }
}

/**
 * Sends each live batch the release's control whenever it changes (pause, resume, stop, a skipped pod). A
 * batch that ended meanwhile no longer needs it: a failed signal is dropped.
 */
async function keepBatchesInControl(
  live: Map<string, LiveBatch>,
  control: (b: LiveBatch) => BatchControl,
  finished: () => boolean,
): Promise<void> {
  const stale = () => [...live.values()].filter((b) => JSON.stringify(control(b)) !== b.sent);
  for (;;) {
    await condition(() => finished() || stale().length > 0);
    if (finished()) return;
    for (const b of stale()) {
      const next = control(b);
      b.sent = JSON.stringify(next);
      getExternalWorkflowHandle(b.workflowId)
        .signal(batchControlSignal, next)
        .catch(() => undefined);
    }
  }
}

/**
 * An operator skipping the pod the release paused on lets the release go on, as it did before batches; so does
 * a disaster-mode release losing that pod's cluster (the pod is the ledger's now).
 */
async function resumeWhenPausedPodIsSkipped(t: ReleaseTracker, finished: () => boolean): Promise<void> {
  const gone = (pod: string) => t.skipped.has(pod) || t.lostClusters.has(t.pods.get(pod)?.cluster ?? '');
  for (;;) {
    await condition(() => finished() || (t.paused?.pod !== undefined && gone(t.paused.pod)));
    if (finished()) return;
    t.resume();
  }
}

/**
 * The release's side of `batch-pod-failed`: the failure recorded, the release paused or rolling back. The pod's
 * own state stays with its batch (shown live from there) and comes back when the batch ends.
 */
export function wireBatchFailures(t: ReleaseTracker): void {
  setHandler(batchPodFailedSignal, (raw: unknown) => {
    // sent by a batch of this release about one of its pods in flight; anything else is recorded and ignored
    const f = asPodFailure(raw, t);
    if (!f) return t.record('(anonymous)', 'batch-pod-failed-rejected', 'not a failure of a pod in a running batch');
    t.record('barista', 'pod-failed', `${f.pod} at ${f.step}: ${f.reason}`);
    if (f.rollback) {
      t.rollbackRequested ??= { by: 'barista', reason: `pod ${f.pod} failed at ${f.step}: ${f.reason}` };
      return;
    }
    t.pause({ reason: f.reason, pod: f.pod, step: f.step, by: 'barista' });
  });
}

/** `raw` as a pod failure of one of the release's running batches, or undefined. */
function asPodFailure(raw: unknown, t: ReleaseTracker): BatchPodFailure | undefined {
  const f = raw as Partial<BatchPodFailure> | undefined;
  if (typeof f?.pod !== 'string' || typeof f.step !== 'string' || typeof f.reason !== 'string' || typeof f.revision !== 'number')
    return undefined;
  const pod = f.pod;
  return [...t.liveBatches.values()].some((b) => b.pods.includes(pod)) ? (f as BatchPodFailure) : undefined;
}
