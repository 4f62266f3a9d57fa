import { PatchStrategy, setHeaderOptions, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { partitionFor, ordinalOf } from '../domain/partition.js';
import { workloadName } from '../domain/index.js';
import type { ClusterClient } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, LABELS } from './labels.js';
import { WaitTimeout } from './pod-watch.js';
import type { WorkloadRef } from './types.js';
import { CONTROLLER_REVISION_LABEL } from './workload-manifest.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * The update revision of the cell's workload, once its template is at `revision` and the controller has seen
 * it. Pods moved to `revision` must carry this name in their controller revision label, or the controller
 * would replace them as soon as the partition passes them.
 */
export async function readUpdateRevision(client: ClusterClient, ref: WorkloadRef, revision: number): Promise<string> {
  const name = workloadName(ref.app, ref.cell);
  // the workflow ensures the workload before its pods, so the controller lags behind it for a moment at most
  const deadline = Date.now() + OBSERVE_WAIT_MS;
  for (;;) {
    const set = await client.apps
      .readNamespacedStatefulSet({ name, namespace: ref.namespace })
      .catch((err: unknown) => rethrowKubeError(err, `reading StatefulSet ${ref.namespace}/${name}`));
    const templateRevision = set.spec?.template.metadata?.labels?.[LABELS.revision];
    if (atRevision(set, revision)) return set.status!.updateRevision!;
    if (Date.now() >= deadline)
      throw new Error(
        `StatefulSet ${ref.namespace}/${name} is not yet at revision ${revision} (template at ${templateRevision ?? '-'}, observed: ${observed(set)})`,
      );
    await untilWorkload(client, ref, name, (s) => atRevision(s, revision), deadline);
  }
}

function observed(set: V1StatefulSet): boolean {
  return (set.status?.observedGeneration ?? 0) >= (set.metadata?.generation ?? 1);
}

function atRevision(set: V1StatefulSet, revision: number): boolean {
  return set.spec?.template.metadata?.labels?.[LABELS.revision] === String(revision) && observed(set) && !!set.status?.updateRevision;
}

/** Between two reads of a workload a step waits at least this long, and without a shared watch exactly this long. */
const REREAD_MIN_MS = 250;
/** With a shared watch, at most this long: the watch says when the workload is worth reading again. */
const REREAD_MAX_MS = 2_000;

/**
 * Waits before a step reads its workload again: until the shared workload watch shows `ready` (at most
 * REREAD_MAX_MS, and not past `deadline`), and at least REREAD_MIN_MS. The step then reads the workload from the
 * API server itself: the watch only spares it reading every 250 ms while it waits.
 */
async function untilWorkload(
  client: ClusterClient,
  ref: WorkloadRef,
  name: string,
  ready: (set: V1StatefulSet) => boolean,
  deadline: number,
): Promise<void> {
  const started = Date.now();
  const maxMs = Math.max(0, Math.min(REREAD_MAX_MS, deadline - started));
  if (client.workloads && maxMs > REREAD_MIN_MS) await client.workloads.until(ref.namespace, name, ready, maxMs);
  const waited = Date.now() - started;
  if (waited < REREAD_MIN_MS) await new Promise((r) => setTimeout(r, REREAD_MIN_MS - waited));
}

/** How long a pod waits for its workload's controller to catch up before the attempt fails (and is retried). */
const OBSERVE_WAIT_MS = 10_000;

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
 * Failed compare-and-swaps one call accepts before it gives up and lets Temporal retry the attempt. Each one means
 * another pod step lowered the partition meanwhile (or a new template took over), so they are progress, not loops.
 */
const PARTITION_CONFLICTS = 50;
/** How long to wait for the StatefulSet controller to see moved pods before lowering the partition past them. */
const CONTROLLER_CATCH_UP_MS = 15_000;

/**
 * Lowers the workload's partition to the lowest ordinal above which every pod runs the update revision
 * (domain/partition.ts), and returns it; it only ever lowers it. Pods only ever move towards the update
 * revision, so a reading from before another pod of the cell moved can only ask for a higher partition, which
 * is never written: concurrent pods of a cell each lower it as far as they see, and the lowest wins.
 *
 * Two guards keep the controller from replacing a pod that was just moved in place. The write is a JSON patch
 * that first tests the template's revision label, so it never lands on a newer template (a rollback's), and
 * the controller's constant status writes do not make it conflict as a resourceVersion precondition would.
 * And the partition goes down only once the controller's own count of pods on the update revision
 * (`status.updatedReplicas`, from its cache) has caught up with what we read: a controller that saw the lower
 * partition before the pod's new label would take the pod for an old one and delete it.
 */
export async function ensurePartition(client: ClusterClient, ref: WorkloadRef, updateRevision: string, own?: V1Pod): Promise<number> {
  const name = workloadName(ref.app, ref.cell);
  const catchUpBy = Date.now() + CONTROLLER_CATCH_UP_MS;
  for (let conflicts = 0; ;) {
    const set = await client.apps
      .readNamespacedStatefulSet({ name, namespace: ref.namespace })
      .catch((err: unknown) => rethrowKubeError(err, `reading StatefulSet ${ref.namespace}/${name}`));
    const current = set.spec?.updateStrategy?.rollingUpdate?.partition;
    const templateRevision = set.spec?.template.metadata?.labels?.[LABELS.revision];
    if (set.status?.updateRevision !== updateRevision || current === undefined || !templateRevision) return current ?? 0; // a newer template took over
    const revisions = await podRevisions(client, ref, name, own);
    const wanted = partitionFor(set.spec?.replicas ?? 0, (o) => revisions.get(o), updateRevision);
    // only ever lowered here (a new template raises it, in ensureWorkload): a pod being recreated reads as not
    // moved, and raising the partition then would have the controller recreate it at the old revision
    if (wanted >= current) return current;
    const moved = [...revisions.values()].filter((r) => r === updateRevision).length;
    const seen = (s: V1StatefulSet) => observed(s) && (s.status?.updatedReplicas ?? 0) >= moved;
    if (!seen(set)) {
      if (Date.now() >= catchUpBy)
        throw new Error(`the StatefulSet controller has not seen the moved pods of ${ref.namespace}/${name} yet (${moved} moved)`);
      await untilWorkload(client, ref, name, seen, catchUpBy);
      continue;
    }
    // lowered, or moved by another pod step meanwhile: read again; the loop ends once nothing is left to lower
    if (!(await lowerPartition(client, ref, templateRevision, current, wanted)) && ++conflicts > PARTITION_CONFLICTS)
      throw new Error(`the partition of ${ref.namespace}/${name} keeps changing under us (now ${current}, want ${wanted})`);
  }
}

/**
 * Moves the workload's partition from `from` to `to` as one compare-and-swap: a JSON patch that tests the
 * template's revision label (never lands on a newer template, a rollback's) and the partition itself (never
 * undoes a lower partition another pod step wrote since we read `from`: raising it would have the controller
 * recreate moved pods at the old revision). True when it was written; false when either test failed.
 */
export async function lowerPartition(
  client: ClusterClient,
  ref: WorkloadRef,
  templateRevision: string,
  from: number,
  to: number,
): Promise<boolean> {
  const name = workloadName(ref.app, ref.cell);
  return client.apps
    .patchNamespacedStatefulSet(
      {
        name,
        namespace: ref.namespace,
        fieldManager: FIELD_MANAGER,
        body: [
          { op: 'test', path: `/spec/template/metadata/labels/${jsonPointer(LABELS.revision)}`, value: templateRevision },
          { op: 'test', path: '/spec/updateStrategy/rollingUpdate/partition', value: from },
          { op: 'replace', path: '/spec/updateStrategy/rollingUpdate/partition', value: to },
        ],
      },
      jsonPatch,
    )
    .then(
      () => true,
      (err: unknown) => {
        if (isStatus(err, 422) || isStatus(err, 409)) return false;
        return rethrowKubeError(err, `setting the partition of ${ref.namespace}/${name} to ${to}`);
      },
    );
}

/**
 * How long the shared watch may lag behind our own write before the pods are listed from the API server instead.
 * Generous: with thousands of pods starting at once the watch lags by tens of seconds, and a list of the cell's
 * hundreds of pods per waiting step then loaded the API server and the worker further (at 10,000 pods, with 2 s and
 * then 10 s here, a sixth of the worker's main thread went to decoding them, and as much again to its GC).
 */
const CACHE_CATCH_UP_MS = 60_000;

/**
 * The controller revision label of each live pod of the workload, by ordinal. From the worker's shared watch
 * when it has seen `own` (the pod this step moved) as our write left it: the other pods may be a little behind
 * there, and a pod read as not moved yet only asks for a higher partition, which is never written. Otherwise
 * (no shared watch, or it lags) from a list.
 */
async function podRevisions(
  client: ClusterClient,
  ref: WorkloadRef,
  workload: string,
  own?: V1Pod,
): Promise<Map<number, string | undefined>> {
  const labels = { [LABELS.app]: ref.app, [LABELS.cell]: ref.cell };
  const ownVersion = own?.metadata?.resourceVersion;
  const cached =
    client.pods &&
    own?.metadata?.name &&
    ownVersion &&
    (await client.pods.caughtUp(ref.namespace, own.metadata.name, ownVersion, CACHE_CATCH_UP_MS))
      ? client.pods.list(ref.namespace, labels)
      : undefined;
  const pods =
    cached ??
    (
      await client.core
        .listNamespacedPod({ namespace: ref.namespace, labelSelector: `${LABELS.app}=${ref.app},${LABELS.cell}=${ref.cell}` })
        .catch((err: unknown) => rethrowKubeError(err, `listing pods of ${ref.namespace}/${workload}`))
    ).items;
  const revisions = new Map<number, string | undefined>();
  for (const pod of pods) {
    const ordinal = ordinalOf(workload, pod.metadata?.name ?? '');
    if (ordinal !== undefined && !pod.metadata?.deletionTimestamp)
      revisions.set(ordinal, pod.metadata?.labels?.[CONTROLLER_REVISION_LABEL]);
  }
  return revisions;
}

/** A label key as one JSON Pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
function jsonPointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
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
