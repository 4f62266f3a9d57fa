import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  setHandler,
} from '@temporalio/workflow';
import { FailureTypes } from '../domain/failures.js';
import type { PodStepFailure } from '../activities/types.js';
import type { ReleasePlan, Revision } from '../domain/index.js';
import { forCluster, routesOf } from './cluster-routing.js';
import { batchControlSignal, batchPodFailedSignal, batchStatusQuery, type BatchControl } from './definitions.js';
import type { PodStatus } from './release-status.js';

export interface ReleaseBatchInput {
  /** Workflow id of the release (AppRelease) this batch belongs to: failures are reported there. */
  release: string;
  /** Names the batch in reports: `group 2 batch 3/8`, `rollback batch 1/2`. */
  batch: string;
  app: ReleasePlan['app'];
  /** The target revision, with only the overrides of this batch's cells. */
  revision: Revision;
  mode: 'in-place' | 'recreate';
  podTimeoutSeconds: number;
  /** Pods of this batch moved at once. */
  lanes: number;
  /** The App's unavailability budget, handed to each pod step (absent: none). */
  budget?: ReleasePlan['budget'];
  rollingBack: boolean;
  rollbackOnFailure: boolean;
  /** The pods, as the release knows them (a rollback's carry `changed`). */
  pods: PodStatus[];
  control: BatchControl;
  /** The release's agent-served clusters (workflows/cluster-routing.ts); absent: every cluster on the central queue. */
  agentClusters?: string[];
}

export interface ReleaseBatchResult {
  pods: PodStatus[];
}

/**
 * ReleaseBatch: moves one batch of a release's pods (at most MAX_PODS_PER_BATCH, domain/batches.ts) to the
 * revision through the per-pod protocol, `lanes` at a time, so the release's own history holds a few events
 * per batch instead of several per pod. The release steers it with `batch-control` (pause, resume, stop,
 * skipped pods) and learns of a failed pod from `batch-pod-failed`; the batch pauses its own lanes at once
 * and retries the pod when the release resumes. It returns every pod's final state.
 */
export async function releaseBatch(input: ReleaseBatchInput): Promise<ReleaseBatchResult> {
  let control = input.control;
  /** resumeCount when this batch last saw one of its pods fail: it holds its lanes until the release resumes. */
  let heldAt: number | undefined;
  const pods = input.pods.map((p) => ({ ...p }));
  setHandler(batchControlSignal, (next: unknown) => {
    // only the release sends it; anything else (a hand-made signal without input, say) is ignored, never a failed
    // workflow task. A late signal never undoes a newer one: resumeCount only grows
    if (isBatchControl(next) && next.resumeCount >= control.resumeCount) control = next;
  });
  setHandler(batchStatusQuery, () => pods);

  const skipped = (pod: PodStatus) => control.skipped.includes(pod.name);
  // disaster mode: the release lost the pod's cluster; nothing more is sent there
  const lost = (pod: PodStatus) => control.lost?.includes(pod.cluster) ?? false;
  const giveUp = (pod: PodStatus) => {
    const midStep = pod.state === 'in-progress' || pod.state === 'failed';
    Object.assign(pod, midStep ? { state: 'unknown' } : { state: 'skipped' }, { error: `cluster ${pod.cluster} unreachable` });
  };
  const held = () => control.paused || (heldAt !== undefined && control.resumeCount <= heldAt);
  const routes = routesOf(input.agentClusters);

  async function releasePod(pod: PodStatus): Promise<void> {
    for (;;) {
      await condition(() => !held() || control.stop || skipped(pod) || lost(pod));
      if (lost(pod)) return giveUp(pod);
      if (control.stop) return;
      if (skipped(pod) && !input.rollingBack) {
        pod.state = 'skipped';
        // a skipped pod that this release drained is handed back to the gate keeper
        if (pod.changed) await handBack(pod);
        return;
      }
      Object.assign(pod, { state: 'in-progress', startedAt: new Date().toISOString() });
      delete pod.step;
      delete pod.error;
      try {
        const result = await unlessLost(pod, () =>
          forCluster(routes, pod.cluster)
            .waits(input.podTimeoutSeconds)
            .ensurePodReleased({
              cluster: pod.cluster,
              namespace: input.app.namespace,
              app: input.app.name,
              tenant: input.app.tenant,
              workspace: input.app.workspace,
              cell: pod.cell,
              pod: pod.name,
              traffic: input.app.traffic,
              revision: input.revision,
              mode: input.mode,
              podTimeoutSeconds: input.podTimeoutSeconds,
              ...(input.budget ? { budget: input.budget } : {}),
            }),
        );
        if (result === 'lost') return giveUp(pod);
        const changed = pod.changed || result.changed;
        Object.assign(pod, {
          state: 'done',
          revision: input.revision.number,
          changed,
          ip: result.ip,
          finishedAt: new Date().toISOString(),
        });
        return;
      } catch (err) {
        const failure = describeFailure(err, pod.name);
        const afterUpgrade = STEPS_AFTER_UPGRADE.includes(failure.step);
        Object.assign(pod, { state: 'failed', step: failure.step, error: failure.reason, changed: true });
        if (afterUpgrade) pod.revision = input.revision.number;
        const rollback = input.rollbackOnFailure && !input.rollingBack;
        const resumes = control.resumeCount;
        if (!rollback) heldAt = resumes;
        await getExternalWorkflowHandle(input.release).signal(batchPodFailedSignal, {
          batch: input.batch,
          pod: pod.name,
          step: failure.step,
          reason: failure.reason,
          revision: input.revision.number,
          afterUpgrade,
          rollback,
        });
        if (rollback) return;
        await condition(() => control.resumeCount > resumes || control.stop || skipped(pod) || lost(pod));
        if (lost(pod)) return giveUp(pod);
      }
    }
  }

  /**
   * Hands a skipped pod back to the gate keeper. On the central queue it retries until it is done, as before; an
   * agent that does not poll leaves the pod drained, its status naming why (the catch-up or an operator hands it back).
   */
  async function handBack(pod: PodStatus): Promise<void> {
    try {
      await forCluster(routes, pod.cluster).mutate.ensurePodHandedBack({
        cluster: pod.cluster,
        namespace: input.app.namespace,
        pod: pod.name,
        tenant: input.app.tenant,
      });
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || cause.type !== FailureTypes.agentNotPolling) throw err;
      pod.error = `skipped while drained; not handed back: ${cause.message}`;
    }
  }

  /** The pod's step, given up (cancelled) if the release loses its cluster meanwhile. */
  async function unlessLost<T>(pod: PodStatus, step: () => Promise<T>): Promise<T | 'lost'> {
    const scope = new CancellationScope();
    let settled = false;
    const running = scope.run(step).finally(() => (settled = true));
    const gone = condition(() => settled || lost(pod)).then(() => (lost(pod) && !settled ? ('lost' as const) : undefined));
    const first = await Promise.race([running, gone]);
    if (first !== 'lost') return await running;
    scope.cancel();
    running.catch(() => undefined); // its cancellation is expected
    return 'lost';
  }

  const queue = [...pods];
  const lane = async () => {
    for (let pod = queue.shift(); pod; pod = queue.shift()) await releasePod(pod);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(input.lanes, queue.length)) }, lane));
  return { pods };
}

function isBatchControl(x: unknown): x is BatchControl {
  if (!x || typeof x !== 'object') return false;
  const c = x as Record<string, unknown>;
  return (
    typeof c.paused === 'boolean' &&
    typeof c.stop === 'boolean' &&
    Number.isInteger(c.resumeCount) &&
    Array.isArray(c.skipped) &&
    c.skipped.every((p) => typeof p === 'string') &&
    (c.lost === undefined || (Array.isArray(c.lost) && c.lost.every((p) => typeof p === 'string')))
  );
}

/** Per-pod steps (activities/ensure-pod-released.ts) that come after the pod was moved to the revision. */
export const STEPS_AFTER_UPGRADE = ['partition', 'await-ready', 'undrain', 'mount'];

/** The step and reason of a failed pod step: the activity's own report, else the error's message. */
export function describeFailure(err: unknown, pod: string): PodStepFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === FailureTypes.podStepTimeout) {
    const details = cause.details?.[0] as PodStepFailure | undefined;
    if (details) return details;
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { pod, step: 'activity', reason: message };
}
