import type { PodState, PodStatus, ReleaseStatus } from '../workflows/release-status.js';
import type { PodStep } from './pod-steps.js';

/**
 * A release's status with what its live batches know: while a batch child runs, the release keeps its pods as
 * they were when the batch started (`from`), and the child knows each one's live state. The pods shown are
 * replaced by the child's, and the counts (release summary, each group's done) move from the batch's start to
 * now. `live[i]` are the pods of `status.batches[i]`, or undefined when that batch could not be asked (it ended
 * meanwhile: the release has its final states at its next query). Pure.
 */
export function overlayLiveBatches(
  status: ReleaseStatus,
  live: (PodStatus[] | undefined)[],
  to = status.to,
  /** Each pod in flight's current step (api/pod-steps.ts): shown on pods still in progress. */
  steps: ReadonlyMap<string, PodStep> = new Map(),
): ReleaseStatus {
  if (!status.batches?.length) return status;
  const byName = new Map<string, PodStatus>();
  const summary = status.summary ? { ...status.summary, byState: { ...status.summary.byState } } : undefined;
  const doneInGroup = new Map<number, number>();
  status.batches.forEach((batch, i) => {
    const pods = live[i];
    if (!pods) return;
    for (const p of pods) byName.set(p.name, withStep(p, steps.get(p.name)));
    if (summary) {
      for (const [state, n] of Object.entries(batch.from.byState)) summary.byState[state as PodState] -= n;
      for (const p of pods) summary.byState[p.state]++;
      summary.changed += pods.filter((p) => p.changed === true && p.revision === to).length - batch.from.changed;
    }
    if (typeof batch.group === 'number') {
      const delta = pods.filter((p) => p.state === 'done').length - batch.from.byState.done;
      doneInGroup.set(batch.group, (doneInGroup.get(batch.group) ?? 0) + delta);
    }
  });
  return {
    ...status,
    pods: status.pods.map((p) => byName.get(p.name) ?? p),
    groups: status.groups.map((g) =>
      g.done !== undefined && doneInGroup.has(g.index) ? { ...g, done: g.done + doneInGroup.get(g.index)! } : g,
    ),
    ...(summary ? { summary } : {}),
  };
}

function withStep(pod: PodStatus, step: PodStep | undefined): PodStatus {
  if (!step || pod.state !== 'in-progress') return pod;
  return {
    ...pod,
    step: step.step,
    ...(step.since ? { stepSince: step.since } : {}),
    ...(step.waitingFor ? { waitingFor: step.waitingFor } : {}),
  };
}
