import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { metadataChanges, type Revision } from '../domain/index.js';
import type { Clusters } from './clusters.js';
import { rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER } from './labels.js';
import { readPod } from './pod-watch.js';
import type { WorkloadRef } from './types.js';
import { desiredPodMetadata } from './workload-manifest.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Puts a pod's App annotations and labels back to the revision's (and removes keys the App's policy calls
 * Barista's that it does not set): one merge patch, with the pod's uid as precondition. Status keys and keys
 * of nobody's policy are never touched. Nothing to change: nothing written.
 */
export function createEnsurePodMetadata(clusters: Clusters) {
  return async function ensurePodMetadata(input: WorkloadRef & { pod: string; revision: Revision }): Promise<{ changed: string[] }> {
    const client = clusters.forTenant(input.cluster, input.tenant);
    const pod = await readPod(client, input.namespace, input.pod);
    if (!pod || pod.metadata?.deletionTimestamp) return { changed: [] };
    const want = desiredPodMetadata(input.revision, input.cell);
    const policy = input.revision.metadataPolicy;
    const annotations = metadataChanges(pod.metadata?.annotations, want.annotations, policy);
    const labels = metadataChanges(pod.metadata?.labels, want.labels, policy);
    const changed = [...Object.keys(annotations).map((k) => `annotations[${k}]`), ...Object.keys(labels).map((k) => `labels[${k}]`)];
    if (!changed.length) return { changed };
    await client.core
      .patchNamespacedPod(
        {
          name: input.pod,
          namespace: input.namespace,
          fieldManager: FIELD_MANAGER,
          body: { metadata: { uid: pod.metadata?.uid, annotations, labels } },
        },
        mergePatch,
      )
      .catch((err: unknown) => rethrowKubeError(err, `restoring ${changed.join(', ')} on pod ${input.namespace}/${input.pod}`));
    return { changed };
  };
}
