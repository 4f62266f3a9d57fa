import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { partitionFor, ordinalOf } from '../domain/partition.js';
import { workloadName } from '../domain/index.js';
import type { ClusterClient } from './clusters.js';
import { rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, LABELS } from './labels.js';
import { WaitTimeout } from './pod-watch.js';
import type { WorkloadRef } from './types.js';
import { CONTROLLER_REVISION_LABEL } from './workload-manifest.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The update revision of the cell's workload, once its template is at `revision` and the controller has seen
 * it. Pods moved to `revision` must carry this name in their controller revision label, or the controller
 * would replace them as soon as the partition passes them.
 */
export async function readUpdateRevision(client: ClusterClient, ref: WorkloadRef, revision: number): Promise<string> {
  const name = workloadName(ref.app, ref.cell);
  const set = await client.apps
    .readNamespacedStatefulSet({ name, namespace: ref.namespace })
    .catch((err: unknown) => rethrowKubeError(err, `reading StatefulSet ${ref.namespace}/${name}`));
  const templateRevision = set.spec?.template.metadata?.labels?.[LABELS.revision];
  const observed = (set.status?.observedGeneration ?? 0) >= (set.metadata?.generation ?? 1);
  // retried: the workflow ensures the workload before its pods, so this only lags for a moment
  if (templateRevision !== String(revision) || !observed || !set.status?.updateRevision)
    throw new Error(`StatefulSet ${ref.namespace}/${name} is not yet at revision ${revision} (template at ${templateRevision ?? '-'})`);
  return set.status.updateRevision;
}

/** Sets the pod's controller revision label (a pod already at the revision by its images, from an older Barista). */
export async function ensurePodRevisionLabel(client: ClusterClient, pod: V1Pod, updateRevision: string): Promise<V1Pod> {
  if (pod.metadata?.labels?.[CONTROLLER_REVISION_LABEL] === updateRevision) return pod;
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  return await client.core
    .patchNamespacedPod(
      { name, namespace, fieldManager: FIELD_MANAGER, body: { metadata: { labels: { [CONTROLLER_REVISION_LABEL]: updateRevision } } } },
      mergePatch,
    )
    .catch((err: unknown) => rethrowKubeError(err, `labelling pod ${namespace}/${name} with revision ${updateRevision}`));
}

/**
 * Lowers (or holds) the workload's partition to the lowest ordinal above which every pod runs the update
 * revision (domain/partition.ts). Reads the set first, then its pods, and writes with the set's
 * resourceVersion: a concurrent change (another pod of the cell finishing) makes this attempt 409 and retry.
 * Returns the partition now in force.
 */
export async function ensurePartition(client: ClusterClient, ref: WorkloadRef, updateRevision: string): Promise<number> {
  const name = workloadName(ref.app, ref.cell);
  const set = await client.apps
    .readNamespacedStatefulSet({ name, namespace: ref.namespace })
    .catch((err: unknown) => rethrowKubeError(err, `reading StatefulSet ${ref.namespace}/${name}`));
  const current = set.spec?.updateStrategy?.rollingUpdate?.partition;
  const replicas = set.spec?.replicas ?? 0;
  if (set.status?.updateRevision !== updateRevision || current === undefined) return current ?? 0; // a newer template took over
  const pods = await client.core
    .listNamespacedPod({ namespace: ref.namespace, labelSelector: `${LABELS.app}=${ref.app},${LABELS.cell}=${ref.cell}` })
    .catch((err: unknown) => rethrowKubeError(err, `listing pods of ${ref.namespace}/${name}`));
  const revisions = new Map<number, string | undefined>();
  for (const pod of pods.items) {
    const ordinal = ordinalOf(name, pod.metadata?.name ?? '');
    if (ordinal !== undefined && !pod.metadata?.deletionTimestamp) revisions.set(ordinal, pod.metadata?.labels?.[CONTROLLER_REVISION_LABEL]);
  }
  const wanted = partitionFor(replicas, (o) => revisions.get(o), updateRevision);
  if (wanted === current) return current;
  await client.apps
    .patchNamespacedStatefulSet(
      {
        name,
        namespace: ref.namespace,
        fieldManager: FIELD_MANAGER,
        body: {
          metadata: { resourceVersion: set.metadata?.resourceVersion },
          spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: wanted } } },
        },
      },
      mergePatch,
    )
    .catch((err: unknown) => rethrowKubeError(err, `setting the partition of ${ref.namespace}/${name} to ${wanted}`));
  return wanted;
}

/**
 * Recreate mode: the controller recreates the pod from the new template only once the partition is at or
 * below its ordinal, which needs every pod above it moved first. Waits (re-checking) until then.
 */
export async function awaitPartitionReaches(
  client: ClusterClient,
  ref: WorkloadRef,
  pod: string,
  updateRevision: string,
  deadline: number,
): Promise<void> {
  const ordinal = ordinalOf(workloadName(ref.app, ref.cell), pod) ?? 0;
  for (;;) {
    const partition = await ensurePartition(client, ref, updateRevision);
    if (partition <= ordinal) return;
    const waitingFor = `the pods above ${pod} to move first (partition ${partition})`;
    if (Date.now() >= deadline) throw new WaitTimeout(waitingFor);
    // the pod attempt heartbeats on its own (activities/pod-attempt.ts); this only waits
    await new Promise((r) => setTimeout(r, 500));
  }
}
