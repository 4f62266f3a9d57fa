import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { withKubeSignal } from '../worker/kube/deadlines.js';
import type { ClusterClient, Clusters } from './clusters.js';
import type { AttemptContext } from './detached.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { metadataChanges, trafficFinalizer } from '../domain/index.js';
import { FIELD_MANAGER, LABELS } from './labels.js';
import { canUpgradeInPlace, containersReadyAt, gateStatus, hasLegacyDrainMark, isAtRevision } from './pod-state.js';
import { ensureTrafficGate, removeLegacyDrainMark } from './traffic-gate.js';
import { explainFailure, PodAttempt } from './pod-attempt.js';
import { awaitPod, type PodVerdict } from './pod-watch.js';
import { UnavailabilityBudgets } from './unavailability-budget.js';
import { ensureTenantAccessRecently } from './tenant-access.js';
import type { EnsurePodReleasedInput, EnsurePodReleasedResult } from './types.js';
import { CONTROLLER_REVISION_LABEL, desiredContainers, desiredPodMetadata } from './workload-manifest.js';
import { awaitPartitionReaches, ensurePartition, ensurePodRevisionLabel, readUpdateRevision } from './workload-partition.js';

const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The per-pod protocol (docs/releases.md): traffic gate False for the release → every declared traffic
 * component lets go (its finalizer is gone) → upgrade (in place, or recreate) → containers ready at the
 * revision → traffic gate True → every component holds the pod again. Every step reads the pod first and does nothing if already done, so a
 * retry after a crash resumes where it stopped and never upgrades a pod twice. The pod's budget
 * (`podTimeoutSeconds`) counts from its first attempt (pod-attempt.ts); a step that passes it, or a traffic
 * component that passes its own deregistration timeout, fails with PodStepTimeout naming the pod, the step and
 * the root cause it can see. Every Kubernetes request of an attempt ends when the attempt is cancelled or past
 * its budget, so a superseded attempt never wakes up later and writes.
 */
export function createEnsurePodReleased(clusters: Clusters, logger: Logger, opts: { skipDrainForTests?: boolean } = {}) {
  const budgets = new UnavailabilityBudgets(clusters);
  const releasePod = async (input: EnsurePodReleasedInput, attempt: PodAttempt): Promise<EnsurePodReleasedResult> => {
    // the App's unavailability budget: a place is taken before the pod goes out of service, given back at the end
    let giveBack: (() => void) | undefined;
    try {
      return await moveToRevision(input, attempt, async () => {
        if (!input.budget || giveBack) return;
        const budget = input.budget;
        giveBack = await budgets.acquire(input, budget, {
          deadline: attempt.deadline,
          signal: attempt.signal,
          onProgress: (waitingFor) => attempt.waiting(waitingFor),
        });
      });
    } finally {
      giveBack?.();
    }
  };
  const moveToRevision = async (
    input: EnsurePodReleasedInput,
    attempt: PodAttempt,
    takeDownAllowed: () => Promise<void>,
  ): Promise<EnsurePodReleasedResult> => {
    // as the tenant's user: the API server refuses a pod outside the tenant's namespaces (activities/tenant-access.ts)
    await ensureTenantAccessRecently(clusters, input);
    const client = clusters.forTenant(input.cluster, input.tenant);
    const deadline = attempt.deadline;
    const log = logger.child({
      release: attempt.releaseId,
      app: input.app,
      cell: input.cell,
      cluster: input.cluster,
      pod: input.pod,
      revision: input.revision.number,
    });
    // how long each step took, logged once the pod is released (where a slow release spends its time)
    const took: Record<string, number> = {};
    // the step in hand is what a failure names (explainFailure)
    const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      const since = Date.now();
      attempt.enter(name);
      try {
        return await run();
      } finally {
        took[name] = (took[name] ?? 0) + Date.now() - since;
      }
    };
    const components = opts.skipDrainForTests ? [] : input.traffic;
    // `known`: the pod as our last write returned it; a wait starts from it instead of reading the pod again
    const wait = (name: string, verdict: Parameters<typeof awaitPod>[3], until = deadline, known?: V1Pod) =>
      step(name, () =>
        awaitPod(client, input.namespace, input.pod, verdict, {
          deadline: until,
          onProgress: (waitingFor) => attempt.waiting(waitingFor),
          ...(known ? { known } : {}),
        }),
      );

    const locate = () =>
      wait('locate', (p) => (p && !p.metadata?.deletionTimestamp ? { done: true } : { done: false, waitingFor: 'the pod to exist' }));
    let pod = await locate();
    const updateRevision = await step('workload', () => readUpdateRevision(client, input, input.revision.number));
    let changed = false;
    let inPlace = true;
    let upgraded: V1Pod | undefined;
    while (!isAtRevision(pod!, input.revision, input.cell)) {
      changed = true;
      inPlace = input.mode === 'in-place' && canUpgradeInPlace(pod!, input.revision, input.cell);
      await step('budget', takeDownAllowed);
      pod = await step('drain', () => ensureTrafficGate(client, pod!, 'False'));
      const uid = pod!.metadata?.uid;
      const drainedOrGone = trafficReleased(components, Date.now());
      // the drain is of this very pod: its deletion, or a replacement under the same name, ends the wait (the
      // replacement is drained anew; a terminating pod is never upgraded)
      const gone = (p: V1Pod | undefined) => !p || p.metadata?.uid !== uid || p.metadata?.deletionTimestamp !== undefined;
      const drained = await wait('drain', (p) => (gone(p) ? { done: true } : drainedOrGone(p)), deadline, pod);
      if (!drained || gone(drained)) {
        // deleted meanwhile (by hand, a lost node): the controller recreates it at the revision the partition
        // allows, the old one until this pod moves; move the replacement
        pod = await locate();
        continue;
      }
      pod = drained;
      upgraded = await step('upgrade', () =>
        inPlace ? upgradeInPlace(client, drained, input, updateRevision) : recreate(client, input, drained, updateRevision, deadline),
      );
      log.info({ step: 'upgrade', inPlace }, 'pod upgraded');
      break;
    }
    // the partition passes the pod only once it carries the update revision (a pod of an older Barista may not)
    if (!changed) pod = await step('upgrade', () => ensurePodRevisionLabel(client, pod!, updateRevision));
    if (inPlace) await step('partition', () => ensurePartition(client, input, updateRevision, upgraded ?? pod));
    // in place: start from the pod our apply returned; recreated: the replacement must have another uid
    pod = await wait(
      'await-ready',
      containersReadyAt(input.revision, input.cell, inPlace ? undefined : pod!.metadata?.uid),
      deadline,
      upgraded,
    );
    if (gateStatus(pod!) !== 'True') {
      changed = true;
      pod = await step('undrain', () => ensureTrafficGate(client, pod!, 'True'));
    }
    pod = await wait('mount', trafficMounted(components, Date.now()), deadline, pod);
    if (hasLegacyDrainMark(pod!)) pod = await step('mount', () => removeLegacyDrainMark(client, pod!));
    log.info({ changed, inPlace, stepMs: took }, 'pod released');
    return {
      pod: input.pod,
      changed,
      uid: pod!.metadata?.uid ?? '',
      ip: pod!.status?.podIP ?? '',
      restartCount: (pod!.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    };
  };
  return async function ensurePodReleased(input: EnsurePodReleasedInput, ctx?: AttemptContext): Promise<EnsurePodReleasedResult> {
    const attempt = new PodAttempt(input.podTimeoutSeconds, ctx, Date.now(), input.pod);
    try {
      return await withKubeSignal(attempt.signal, () => releasePod(input, attempt));
    } catch (err) {
      throw await explainFailure(input, () => clusters.get(input.cluster), attempt, err);
    } finally {
      attempt.end();
    }
  };
}

type TrafficComponent = EnsurePodReleasedInput['traffic'][number];

/**
 * Every declared component has removed its finalizer: nobody routes to the pod any more. Each component is held
 * to its own deregistration timeout, counted from `since`: the wait ends as soon as one still holding passes
 * its own, naming the component(s) past their timeout (not waiting for the longest timeout of all).
 */
function trafficReleased(components: TrafficComponent[], since: number) {
  return trafficWait(
    since,
    (pod) => components.filter((c) => pod?.metadata?.finalizers?.includes(trafficFinalizer(c.name))),
    'to let go of the pod',
  );
}

/** Every declared component holds its finalizer again: traffic is mounted. Each within its own timeout, as above. */
function trafficMounted(components: TrafficComponent[], since: number) {
  const released = trafficWait(
    since,
    (pod) => components.filter((c) => !pod?.metadata?.finalizers?.includes(trafficFinalizer(c.name))),
    'to route to the pod again',
  );
  return (pod: V1Pod | undefined): PodVerdict => (pod ? released(pod) : { done: false, waitingFor: 'the pod to exist' });
}

/** A wait for the components `pending(pod)` names, each with its own deadline (since + its timeout). */
function trafficWait(since: number, pending: (pod: V1Pod | undefined) => TrafficComponent[], what: string) {
  const deadlineOf = (c: TrafficComponent) => since + c.deregistrationTimeoutSeconds * 1000;
  return (pod: V1Pod | undefined): PodVerdict => {
    const waiting = pending(pod);
    if (waiting.length === 0) return { done: true };
    const now = Date.now();
    const overdue = waiting.filter((c) => now >= deadlineOf(c));
    const named = overdue.length > 0 ? overdue : waiting;
    const timeouts =
      overdue.length > 0 ? ` (past its timeout: ${overdue.map((c) => `${c.name} ${c.deregistrationTimeoutSeconds}s`).join(', ')})` : '';
    return {
      done: false,
      waitingFor: `traffic component ${named.map((c) => c.name).join(', ')} ${what}${timeouts}`,
      until: Math.min(...waiting.map(deadlineOf)),
    };
  };
}

/**
 * Moves the pod's images and revision label to the revision with server-side apply (field manager
 * `barista`, forced: Barista owns these fields from now on). One request, no read-modify-write race
 * with the kubelet's status writes.
 */
async function upgradeInPlace(client: ClusterClient, pod: V1Pod, input: EnsurePodReleasedInput, updateRevision: string): Promise<V1Pod> {
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  const app = desiredPodMetadata(input.revision, input.cell);
  const applied = await client.core
    .patchNamespacedPod(
      {
        name,
        namespace,
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          // the controller revision label too: the controller then counts the pod as moved and never replaces it
          // and the App's annotations and labels: a value someone changed is put back
          metadata: {
            name,
            namespace,
            labels: { ...app.labels, [LABELS.revision]: String(input.revision.number), [CONTROLLER_REVISION_LABEL]: updateRevision },
            ...(Object.keys(app.annotations).length ? { annotations: app.annotations } : {}),
          },
          spec: { containers: desiredContainers(input.revision, input.cell).map((c) => ({ name: c.name, image: c.image })) },
        },
      },
      serverSideApply,
    )
    .catch((err: unknown) => rethrowKubeError(err, `applying revision ${input.revision.number} to pod ${namespace}/${name}`));
  return await removeStaleMetadata(client, applied, app, input);
}

/**
 * Removes the annotations and labels the App's policy calls Barista's that the App no longer sets (an apply
 * removes only keys Barista applied itself; these may have been set by anyone). Status keys are never touched.
 */
async function removeStaleMetadata(
  client: ClusterClient,
  pod: V1Pod,
  app: ReturnType<typeof desiredPodMetadata>,
  input: EnsurePodReleasedInput,
): Promise<V1Pod> {
  const policy = input.revision.metadataPolicy;
  if (!policy?.spec.length) return pod;
  const stale = (current: Record<string, string> | undefined, desired: Record<string, string>) =>
    Object.fromEntries(Object.entries(metadataChanges(current, desired, policy)).filter(([, v]) => v === null));
  const annotations = stale(pod.metadata?.annotations, app.annotations);
  const labels = stale(pod.metadata?.labels, app.labels);
  if (!Object.keys(annotations).length && !Object.keys(labels).length) return pod;
  const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
  return await client.core
    .patchNamespacedPod({ name, namespace, fieldManager: FIELD_MANAGER, body: { metadata: { uid, annotations, labels } } }, mergePatch)
    .catch((err: unknown) =>
      rethrowKubeError(
        err,
        `removing stale keys ${[...Object.keys(annotations), ...Object.keys(labels)].join(', ')} from pod ${namespace}/${name}`,
      ),
    );
}

/**
 * Deletes the pod (this very pod: uid precondition) so the workload controller recreates it from the new
 * template. The pod is labelled as moved first and the partition brought down to it, else the controller
 * would recreate it at the old revision.
 */
async function recreate(
  client: ClusterClient,
  input: EnsurePodReleasedInput,
  pod: V1Pod,
  updateRevision: string,
  deadline: number,
): Promise<undefined> {
  const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
  await ensurePodRevisionLabel(client, pod, updateRevision);
  await awaitPartitionReaches(client, input, name, updateRevision, deadline);
  await client.core.deleteNamespacedPod({ name, namespace, body: { preconditions: { uid } } }).catch((err: unknown) => {
    if (isStatus(err, 404) || isStatus(err, 409)) return; // already gone or already replaced
    rethrowKubeError(err, `deleting pod ${namespace}/${name}`);
  });
  return undefined; // the pod to wait for is its replacement: read afresh
}
