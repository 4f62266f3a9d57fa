import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import type { ClusterClient } from './clusters.js';
import { rethrowKubeError } from './kube-errors.js';
import { DRAIN_ANNOTATION, FIELD_MANAGER, GATE_REASONS, TRAFFIC_READY } from './labels.js';
import { gateStatus, isDrainMarked } from './pod-state.js';

const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Opens the traffic gate (True), or closes it for the release (False, reason draining: the gate keeper keeps
 * off the pod until the release opens it). One pods/status write; a no-op when the gate is already so.
 */
export async function ensureTrafficGate(client: ClusterClient, pod: V1Pod, status: 'True' | 'False'): Promise<V1Pod> {
  if (status === 'True' ? gateStatus(pod) === 'True' : isDrainMarked(pod) && gateStatus(pod) === 'False') return pod;
  return writeGate(client, pod, status, status === 'True' ? GATE_REASONS.released : GATE_REASONS.draining);
}

/** Lifts a release's drain mark and leaves the gate closed: the gate keeper opens it once the containers are ready. */
export async function ensureTrafficGateHandedBack(client: ClusterClient, pod: V1Pod): Promise<V1Pod> {
  if (gateStatus(pod) !== 'False' || !isDrainMarked(pod)) return pod;
  return writeGate(client, pod, 'False', GATE_REASONS.handedBack);
}

/** Removes the drain annotation an earlier version of Barista put on pods (a release in flight across an upgrade). */
export async function removeLegacyDrainMark(client: ClusterClient, pod: V1Pod): Promise<V1Pod> {
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  try {
    return await client.core.patchNamespacedPod(
      { name, namespace, fieldManager: FIELD_MANAGER, body: { metadata: { annotations: { [DRAIN_ANNOTATION]: null } } } },
      mergePatch,
    );
  } catch (err) {
    return rethrowKubeError(err, `unmarking pod ${namespace}/${name} as drained`);
  }
}

async function writeGate(client: ClusterClient, pod: V1Pod, status: 'True' | 'False', reason: string): Promise<V1Pod> {
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  try {
    return await client.core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        fieldManager: FIELD_MANAGER,
        body: { status: { conditions: [{ type: TRAFFIC_READY, status, lastTransitionTime: new Date(), reason }] } },
      },
      strategicPatch,
    );
  } catch (err) {
    return rethrowKubeError(err, `setting ${TRAFFIC_READY}=${status} (${reason}) on pod ${namespace}/${name}`);
  }
}
