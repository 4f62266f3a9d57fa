import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { FailureTypes } from '../domain/failures.js';
import type { ClusterClient, Clusters } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, LABELS, TRAFFIC_READY } from './labels.js';
import { canUpgradeInPlace, containersReadyAt, gateStatus, isAtRevision } from './pod-state.js';
import { awaitPod, WaitTimeout } from './pod-watch.js';
import type { EnsurePodReleasedInput, EnsurePodReleasedResult, PodStepFailure } from './types.js';
import { desiredContainers } from './workload-manifest.js';

const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/**
 * The per-pod protocol: traffic gate False → upgrade (in place, or recreate) → containers ready at the
 * revision → traffic gate True. Every step reads the pod first and does nothing if already done, so a
 * retry after a crash resumes where it stopped and never upgrades a pod twice. A step that passes the
 * pod deadline fails with PodStepTimeout naming the pod, the step and what it was waiting for.
 */
export function createEnsurePodReleased(clusters: Clusters, logger: Logger) {
  return async function ensurePodReleased(input: EnsurePodReleasedInput): Promise<EnsurePodReleasedResult> {
    const client = clusters.get(input.cluster);
    const deadline = Date.now() + input.podTimeoutSeconds * 1000;
    const log = logger.child({ app: input.app, cell: input.cell, cluster: input.cluster, pod: input.pod, revision: input.revision.number });
    const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (err) {
        if (err instanceof WaitTimeout) {
          const details: PodStepFailure = {
            pod: input.pod,
            step: name,
            reason: `timed out after ${input.podTimeoutSeconds}s waiting for ${err.waitingFor}`,
          };
          throw ApplicationFailure.create({
            message: `pod ${input.pod}: ${details.reason}`,
            type: FailureTypes.podStepTimeout,
            nonRetryable: true,
            details: [details],
          });
        }
        throw err;
      }
    };

    let pod = await step('locate', () =>
      awaitPod(
        client,
        input.namespace,
        input.pod,
        (p) => (p && !p.metadata?.deletionTimestamp ? { done: true } : { done: false, waitingFor: 'the pod to exist' }),
        { deadline, step: 'locate' },
      ),
    );
    let changed = false;
    if (!isAtRevision(pod!, input.revision, input.cell)) {
      changed = true;
      await step('drain', () => ensureTrafficGate(client, pod!, 'False'));
      if (input.mode === 'in-place' && canUpgradeInPlace(pod!, input.revision, input.cell)) {
        await step('upgrade', () => upgradeInPlace(client, pod!, input));
      } else {
        await step('upgrade', () => recreate(client, pod!));
      }
      log.info({ step: 'upgrade' }, 'pod upgraded');
    }
    const oldUid =
      changed && !(input.mode === 'in-place' && canUpgradeInPlace(pod!, input.revision, input.cell)) ? pod!.metadata?.uid : undefined;
    pod = await step('await-ready', () =>
      awaitPod(client, input.namespace, input.pod, containersReadyAt(input.revision, input.cell, oldUid), {
        deadline,
        step: 'await-ready',
      }),
    );
    if (gateStatus(pod!) !== 'True') {
      changed = true;
      pod = await step('undrain', () => ensureTrafficGate(client, pod!, 'True'));
    }
    return {
      pod: input.pod,
      changed,
      uid: pod!.metadata?.uid ?? '',
      ip: pod!.status?.podIP ?? '',
      restartCount: (pod!.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    };
  };
}

/** Sets the traffic readiness gate condition; a no-op when it already has that value. */
export async function ensureTrafficGate(client: ClusterClient, pod: V1Pod, status: 'True' | 'False'): Promise<V1Pod> {
  if (gateStatus(pod) === status) return pod;
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  try {
    return await client.core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        fieldManager: FIELD_MANAGER,
        body: {
          status: {
            conditions: [
              {
                type: TRAFFIC_READY,
                status,
                lastTransitionTime: new Date(),
                reason: status === 'True' ? 'ReleasedByBarista' : 'DrainedByBarista',
              },
            ],
          },
        },
      },
      strategicPatch,
    );
  } catch (err) {
    return rethrowKubeError(err, `setting ${TRAFFIC_READY}=${status} on pod ${namespace}/${name}`);
  }
}

/**
 * Moves the pod's images and revision label to the revision with server-side apply (field manager
 * `barista`, forced: Barista owns these fields from now on). One request, no read-modify-write race
 * with the kubelet's status writes.
 */
async function upgradeInPlace(client: ClusterClient, pod: V1Pod, input: EnsurePodReleasedInput): Promise<void> {
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  await client.core
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
async function recreate(client: ClusterClient, pod: V1Pod): Promise<void> {
  const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
  await client.core.deleteNamespacedPod({ name, namespace, body: { preconditions: { uid } } }).catch((err: unknown) => {
    if (isStatus(err, 404) || isStatus(err, 409)) return; // already gone or already replaced
    rethrowKubeError(err, `deleting pod ${namespace}/${name}`);
  });
}
