import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Clusters } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER } from './labels.js';
import { readPod } from './pod-watch.js';
import type { WorkloadRef } from './types.js';

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * Lifts traffic finalizers left on a terminating pod whose components never let go (the component is gone, or
 * lost the pod): the pod is not ready and serves nothing any more, and without this it never goes away. Only
 * the named finalizers, only on a terminating pod, with the pod's resourceVersion as precondition (409: retried).
 */
export function createEnsureFinalizersLifted(clusters: Clusters) {
  return async function ensureFinalizersLifted(
    input: Pick<WorkloadRef, 'cluster' | 'namespace' | 'tenant'> & { pod: string; finalizers: string[] },
  ): Promise<{ lifted: string[] }> {
    const client = clusters.forTenant(input.cluster, input.tenant);
    const pod = await readPod(client, input.namespace, input.pod);
    if (!pod?.metadata?.deletionTimestamp) return { lifted: [] };
    const current = pod.metadata.finalizers ?? [];
    const lifted = current.filter((f) => input.finalizers.includes(f));
    if (!lifted.length) return { lifted };
    await client.core
      .patchNamespacedPod(
        {
          name: input.pod,
          namespace: input.namespace,
          fieldManager: FIELD_MANAGER,
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: pod.metadata.resourceVersion },
            { op: 'replace', path: '/metadata/finalizers', value: current.filter((f) => !lifted.includes(f)) },
          ],
        },
        jsonPatch,
      )
      .catch((err: unknown) => {
        if (isStatus(err, 404)) return; // gone meanwhile: what we wanted
        if (isStatus(err, 422)) throw new Error(`pod ${input.namespace}/${input.pod} changed meanwhile; reading it again`);
        // a failed test (the pod changed meanwhile) is a conflict: the attempt is retried and reads afresh
        rethrowKubeError(err, `lifting ${lifted.join(', ')} from terminating pod ${input.namespace}/${input.pod}`);
      });
    return { lifted };
  };
}
