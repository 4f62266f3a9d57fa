import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Clusters } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { DRAIN_ANNOTATION, FIELD_MANAGER } from './labels.js';
import { readPod } from './pod-watch.js';
import type { WorkloadRef } from './types.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Hands a pod the release gave up on (skip-pod) back to the gate keeper: removes the drain mark, so its
 * gate opens as soon as its containers are ready and its traffic components mount it again.
 */
export function createEnsurePodHandedBack(clusters: Clusters) {
  return async function ensurePodHandedBack(
    input: Pick<WorkloadRef, 'cluster' | 'namespace'> & { pod: string },
  ): Promise<{ unmarked: boolean }> {
    const client = clusters.get(input.cluster);
    const pod = await readPod(client, input.namespace, input.pod);
    if (!pod || pod.metadata?.annotations?.[DRAIN_ANNOTATION] === undefined) return { unmarked: false };
    try {
      await client.core.patchNamespacedPod(
        {
          name: input.pod,
          namespace: input.namespace,
          fieldManager: FIELD_MANAGER,
          body: { metadata: { annotations: { [DRAIN_ANNOTATION]: null } } },
        },
        mergePatch,
      );
    } catch (err) {
      if (isStatus(err, 404)) return { unmarked: false };
      rethrowKubeError(err, `unmarking pod ${input.namespace}/${input.pod}`);
    }
    return { unmarked: true };
  };
}
