import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { FailureTypes } from '../domain/failures.js';
import type { ClusterClient, Clusters } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { trafficFinalizer } from '../domain/index.js';
import { FIELD_MANAGER, LABELS } from './labels.js';
import { canUpgradeInPlace, containersReadyAt, gateStatus, hasLegacyDrainMark, isAtRevision } from './pod-state.js';
import { ensureTrafficGate, removeLegacyDrainMark } from './traffic-gate.js';
import { awaitPod, WaitTimeout, type PodVerdict } from './pod-watch.js';
import type { EnsurePodReleasedInput, EnsurePodReleasedResult, PodStepFailure } from './types.js';
import { desiredContainers } from './workload-manifest.js';

const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/**
 * The per-pod protocol (docs/releases.md): traffic gate False for the release → every declared traffic
 * component lets go (its finalizer is gone) → upgrade (in place, or recreate) → containers ready at the
 * revision → traffic gate True → every component holds the pod again. Every step reads the pod first and does nothing if already done, so a
 * retry after a crash resumes where it stopped and never upgrades a pod twice. A step that passes the
 * pod deadline fails with PodStepTimeout naming the pod, the step and what it was waiting for.
 */
export function createEnsurePodReleased(clusters: Clusters, logger: Logger, opts: { skipDrainForTests?: boolean } = {}) {
  return async function ensurePodReleased(input: EnsurePodReleasedInput): Promise<EnsurePodReleasedResult> {
    const client = clusters.get(input.cluster);
    const deadline = Date.now() + input.podTimeoutSeconds * 1000;
    const log = logger.child({
      release: releaseId(),
      app: input.app,
      cell: input.cell,
      cluster: input.cluster,
      pod: input.pod,
      revision: input.revision.number,
    });
    // how long each step took, logged once the pod is released (where a slow release spends its time)
    const took: Record<string, number> = {};
    const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      const since = Date.now();
      try {
        return await run();
      } catch (err) {
        if (err instanceof WaitTimeout) throw podStepFailed(input.pod, name, `timed out waiting for ${err.waitingFor}`);
        // a transient error (cluster unreachable, API server failing) is retried by Temporal, but only for
        // the pod's deadline counted from the first attempt: then the release pauses, naming the cluster
        const trying = Date.now() - firstScheduledAt();
        if (!(err instanceof ApplicationFailure) && trying >= input.podTimeoutSeconds * 1000) {
          const message = err instanceof Error ? err.message : String(err);
          throw podStepFailed(input.pod, name, `cluster ${input.cluster} still failing after ${Math.round(trying / 1000)}s: ${message}`);
        }
        throw err;
      } finally {
        took[name] = (took[name] ?? 0) + Date.now() - since;
      }
    };
    const components = opts.skipDrainForTests ? [] : input.traffic;
    const trafficDeadline = () =>
      Math.min(deadline, Date.now() + Math.max(0, ...components.map((c) => c.deregistrationTimeoutSeconds)) * 1000);
    // `known`: the pod as our last write returned it; a wait starts from it instead of reading the pod again
    const wait = (name: string, verdict: Parameters<typeof awaitPod>[3], until = deadline, known?: V1Pod) =>
      step(name, () => awaitPod(client, input.namespace, input.pod, verdict, { deadline: until, step: name, ...(known ? { known } : {}) }));

    let pod = await wait('locate', (p) =>
      p && !p.metadata?.deletionTimestamp ? { done: true } : { done: false, waitingFor: 'the pod to exist' },
    );
    let changed = false;
    let inPlace = true;
    let upgraded: V1Pod | undefined;
    if (!isAtRevision(pod!, input.revision, input.cell)) {
      changed = true;
      inPlace = input.mode === 'in-place' && canUpgradeInPlace(pod!, input.revision, input.cell);
      pod = await step('drain', () => ensureTrafficGate(client, pod!, 'False'));
      const drained = await wait('drain', trafficReleased(components), trafficDeadline(), pod);
      if (drained) {
        pod = drained;
        upgraded = await step('upgrade', () => (inPlace ? upgradeInPlace(client, drained, input) : recreate(client, drained)));
        log.info({ step: 'upgrade', inPlace }, 'pod upgraded');
      } else {
        // deleted meanwhile (by hand, a lost node): the workload controller recreates it from the new template
        inPlace = false;
      }
    }
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
    pod = await wait('mount', trafficMounted(components), trafficDeadline(), pod);
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
}

function podStepFailed(pod: string, step: string, reason: string): ApplicationFailure {
  const details: PodStepFailure = { pod, step, reason };
  return ApplicationFailure.create({
    message: `pod ${pod}: ${reason}`,
    type: FailureTypes.podStepTimeout,
    nonRetryable: true,
    details: [details],
  });
}

/** When the first attempt of this activity was scheduled (now, outside an activity). */
function firstScheduledAt(): number {
  try {
    return Context.current().info.scheduledTimestampMs;
  } catch {
    return Date.now();
  }
}

/** The workflow id of the release running this activity, for log lines. */
function releaseId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.workflowId;
  } catch {
    return undefined; // called outside an activity
  }
}

/** Every declared component has removed its finalizer: nobody routes to the pod any more. */
function trafficReleased(components: { name: string }[]) {
  return (pod: V1Pod | undefined): PodVerdict => {
    const holding = components.filter((c) => pod?.metadata?.finalizers?.includes(trafficFinalizer(c.name)));
    return holding.length === 0
      ? { done: true }
      : { done: false, waitingFor: `traffic component ${holding.map((c) => c.name).join(', ')} to let go of the pod` };
  };
}

/** Every declared component holds its finalizer again: traffic is mounted. */
function trafficMounted(components: { name: string }[]) {
  return (pod: V1Pod | undefined): PodVerdict => {
    if (!pod) return { done: false, waitingFor: 'the pod to exist' };
    const missing = components.filter((c) => !pod.metadata?.finalizers?.includes(trafficFinalizer(c.name)));
    return missing.length === 0
      ? { done: true }
      : { done: false, waitingFor: `traffic component ${missing.map((c) => c.name).join(', ')} to route to the pod again` };
  };
}

/**
 * Moves the pod's images and revision label to the revision with server-side apply (field manager
 * `barista`, forced: Barista owns these fields from now on). One request, no read-modify-write race
 * with the kubelet's status writes.
 */
async function upgradeInPlace(client: ClusterClient, pod: V1Pod, input: EnsurePodReleasedInput): Promise<V1Pod> {
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  return await client.core
    .patchNamespacedPod(
      {
        name,
        namespace,
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace, labels: { [LABELS.revision]: String(input.revision.number) } },
          spec: { containers: desiredContainers(input.revision, input.cell).map((c) => ({ name: c.name, image: c.image })) },
        },
      },
      serverSideApply,
    )
    .catch((err: unknown) => rethrowKubeError(err, `applying revision ${input.revision.number} to pod ${namespace}/${name}`));
}

/** Deletes the pod (this very pod: uid precondition) so the workload controller recreates it at the new template. */
async function recreate(client: ClusterClient, pod: V1Pod): Promise<undefined> {
  const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
  await client.core.deleteNamespacedPod({ name, namespace, body: { preconditions: { uid } } }).catch((err: unknown) => {
    if (isStatus(err, 404) || isStatus(err, 409)) return; // already gone or already replaced
    rethrowKubeError(err, `deleting pod ${namespace}/${name}`);
  });
  return undefined; // the pod to wait for is its replacement: read afresh
}
