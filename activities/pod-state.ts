import type { V1Pod } from '@kubernetes/client-node';
import type { Revision } from '../domain/index.js';
import { DRAIN_ANNOTATION, GATE_REASONS, LABELS, TRAFFIC_READY } from './labels.js';
import type { PodVerdict } from './pod-watch.js';
import { desiredContainers } from './workload-manifest.js';

/** Pure readings of a pod's state, shared by the per-pod steps. */

export function gateStatus(pod: V1Pod): string | undefined {
  return gateCondition(pod)?.status;
}

function gateCondition(pod: V1Pod) {
  return pod.status?.conditions?.find((c) => c.type === TRAFFIC_READY);
}

/** A release holds the pod drained: its gate closed with the draining reason, or the earlier annotation. */
export function isDrainMarked(pod: V1Pod): boolean {
  const gate = gateCondition(pod);
  return (gate?.status === 'False' && gate.reason === GATE_REASONS.draining) || hasLegacyDrainMark(pod);
}

export function hasLegacyDrainMark(pod: V1Pod): boolean {
  return pod.metadata?.annotations?.[DRAIN_ANNOTATION] !== undefined;
}

export function isAtRevision(pod: V1Pod, revision: Revision, cell: string): boolean {
  if (pod.metadata?.labels?.[LABELS.revision] !== String(revision.number)) return false;
  const want = desiredContainers(revision, cell);
  return want.every((w) => pod.spec?.containers.find((c) => c.name === w.name)?.image === w.image);
}

/** True when only images differ between the pod and the revision: an in-place patch can do the change. */
export function canUpgradeInPlace(pod: V1Pod, revision: Revision, cell: string): boolean {
  const want = desiredContainers(revision, cell);
  const have = pod.spec?.containers ?? [];
  if (want.length !== have.length) return false;
  return want.every((w) => {
    const c = have.find((h) => h.name === w.name);
    const env = (c?.env ?? []).map((e) => [e.name, e.value]);
    return c !== undefined && JSON.stringify(env) === JSON.stringify((w.env ?? []).map((e) => [e.name, e.value]));
  });
}

/** Containers run the revision's images and are ready (the gate aside). */
export function containersReadyAt(revision: Revision, cell: string, uidNot?: string) {
  return (pod: V1Pod | undefined): PodVerdict => {
    if (!pod) return { done: false, waitingFor: 'the pod to be recreated' };
    if (uidNot && pod.metadata?.uid === uidNot) return { done: false, waitingFor: 'the old pod to be replaced' };
    if (pod.metadata?.deletionTimestamp) return { done: false, waitingFor: 'the old pod to terminate' };
    const want = desiredContainers(revision, cell);
    for (const w of want) {
      const cs = pod.status?.containerStatuses?.find((s) => s.name === w.name);
      if (!cs) return { done: false, waitingFor: `container ${w.name} to start` };
      if (cs.image !== w.image) return { done: false, waitingFor: `container ${w.name} to run ${w.image} (runs ${cs.image})` };
      if (!cs.ready) {
        const waiting = cs.state?.waiting;
        return {
          done: false,
          waitingFor: `container ${w.name} to become ready${waiting?.reason ? ` (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})` : ''}`,
        };
      }
    }
    return { done: true };
  };
}
