import { PatchStrategy, setHeaderOptions, type V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { workloadName } from '../domain/index.js';
import type { ClusterClient } from './clusters.js';
import { awaitObserved } from './ensure-workload.js';
import { rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, LABELS } from './labels.js';
import type { WorkloadRef } from './types.js';
import { ensurePartition, ensurePodRevisionLabel } from './workload-partition.js';
import { heldUpdateStrategy } from './workload-manifest.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** How long adoption waits for the controller to record the running template as current. */
const ADOPTION_TIMEOUT_MS = 20_000;

/**
 * A StatefulSet made by an earlier Barista (`OnDelete`) still names, as its current revision, the template it
 * was created with: the controller only moves that on for rolling updates. Held by a partition as it is, a pod
 * below the partition would come back at that first template. So before its template changes, the workload is
 * adopted: held with its template as it is, its pods at that template labelled with the controller's revision
 * for it, and the partition lowered past them, so the controller records the running template as current.
 * Pods at another revision hold the partition above them; then the running template cannot become current and
 * adoption goes on after a warning (those pods come back at the first template until their next release).
 */
export async function adoptLegacyWorkload(client: ClusterClient, ref: WorkloadRef, set: V1StatefulSet, log: Logger): Promise<void> {
  const name = workloadName(ref.app, ref.cell);
  await client.apps
    .patchNamespacedStatefulSet(
      {
        name,
        namespace: ref.namespace,
        fieldManager: FIELD_MANAGER,
        body: {
          metadata: { resourceVersion: set.metadata?.resourceVersion },
          spec: { updateStrategy: heldUpdateStrategy(set.spec?.replicas ?? 0) },
        },
      },
      mergePatch,
    )
    .catch((err: unknown) => rethrowKubeError(err, `holding StatefulSet ${ref.namespace}/${name} by a partition`));
  const running = await awaitObserved(client.apps, ref, name);
  const template = set.spec?.template.metadata?.labels?.[LABELS.revision];
  const pods = await client.core
    .listNamespacedPod({ namespace: ref.namespace, labelSelector: `${LABELS.app}=${ref.app},${LABELS.cell}=${ref.cell}` })
    .catch((err: unknown) => rethrowKubeError(err, `listing pods of ${ref.namespace}/${name}`));
  for (const pod of pods.items)
    if (!pod.metadata?.deletionTimestamp && pod.metadata?.labels?.[LABELS.revision] === template)
      await ensurePodRevisionLabel(client, pod, running);
  await ensurePartition(client, ref, running);
  const deadline = Date.now() + ADOPTION_TIMEOUT_MS;
  for (;;) {
    const now = await client.apps
      .readNamespacedStatefulSet({ name, namespace: ref.namespace })
      .catch((err: unknown) => rethrowKubeError(err, `reading StatefulSet ${ref.namespace}/${name}`));
    if (now.status?.currentRevision === running) return log.info({ revision: template }, 'workload adopted: held by a partition');
    if (Date.now() >= deadline)
      return log.warn(
        { revision: template, current: now.status?.currentRevision },
        'workload held by a partition, but its pods are not all at its template yet',
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
