import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1StatefulSet } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { FailureTypes } from '../domain/failures.js';
import { workloadName } from '../domain/index.js';
import type { Clusters } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, LABELS } from './labels.js';
import type { EnsureWorkloadInput, EnsureWorkloadResult } from './types.js';
import { selectorLabels, statefulSetFor } from './workload-manifest.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Ensures the namespace and the StatefulSet of (app, cell) exist with the revision's template and replicas.
 * Reads first; writes only what differs, with the object's resourceVersion as precondition (409 → retry).
 */
export function createEnsureWorkload(clusters: Clusters, logger: Logger) {
  return async function ensureWorkload(input: EnsureWorkloadInput): Promise<EnsureWorkloadResult> {
    const { core, apps } = clusters.get(input.cluster);
    const desired = statefulSetFor(input, input.revision);
    const name = workloadName(input.app, input.cell);
    const log = logger.child({ app: input.app, cell: input.cell, cluster: input.cluster, revision: input.revision.number });

    await core.readNamespace({ name: input.namespace }).catch(async (err: unknown) => {
      if (!isStatus(err, 404)) rethrowKubeError(err, `reading namespace ${input.namespace}`);
      await core
        .createNamespace({
          body: { metadata: { name: input.namespace, labels: { [LABELS.tenant]: input.tenant, [LABELS.workspace]: input.workspace } } },
          fieldManager: FIELD_MANAGER,
        })
        .catch((e: unknown) => (isStatus(e, 409) ? undefined : rethrowKubeError(e, `creating namespace ${input.namespace}`)));
    });

    await ensureService(core, input, name);

    let current: V1StatefulSet | undefined;
    try {
      current = await apps.readNamespacedStatefulSet({ name, namespace: input.namespace });
    } catch (err) {
      if (!isStatus(err, 404)) rethrowKubeError(err, `reading StatefulSet ${input.namespace}/${name}`);
    }
    if (!current) {
      await apps
        .createNamespacedStatefulSet({ namespace: input.namespace, body: desired, fieldManager: FIELD_MANAGER })
        .catch((err: unknown) => rethrowKubeError(err, `creating StatefulSet ${name}`));
      log.info('workload created');
      return { created: true, updated: false };
    }
    const owner = current.metadata?.labels?.[LABELS.tenant];
    if (owner !== input.tenant)
      throw ApplicationFailure.nonRetryable(
        `StatefulSet ${input.namespace}/${name} in ${input.cluster} belongs to tenant ${owner ?? '(none)'}, not ${input.tenant}`,
        FailureTypes.forbidden,
      );
    if (sameWorkload(current, desired)) return { created: false, updated: false };
    await apps
      .patchNamespacedStatefulSet(
        {
          name,
          namespace: input.namespace,
          fieldManager: FIELD_MANAGER,
          body: {
            metadata: { resourceVersion: current.metadata?.resourceVersion, labels: desired.metadata?.labels },
            spec: { replicas: desired.spec?.replicas, template: desired.spec?.template },
          },
        },
        mergePatch,
      )
      .catch((err: unknown) => rethrowKubeError(err, `updating StatefulSet ${name}`));
    log.info('workload updated');
    return { created: false, updated: true };
  };
}

/** A headless Service per (app, cell): its EndpointSlices are what the service traffic component follows. */
async function ensureService(core: CoreV1Api, input: EnsureWorkloadInput, name: string): Promise<void> {
  try {
    await core.readNamespacedService({ name, namespace: input.namespace });
    return;
  } catch (err) {
    if (!isStatus(err, 404)) rethrowKubeError(err, `reading Service ${input.namespace}/${name}`);
  }
  await core
    .createNamespacedService({
      namespace: input.namespace,
      fieldManager: FIELD_MANAGER,
      body: {
        metadata: { name, labels: { ...selectorLabels(input), [LABELS.tenant]: input.tenant, [LABELS.managedBy]: 'barista' } },
        spec: { clusterIP: 'None', selector: selectorLabels(input), ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    })
    .catch((err: unknown) => (isStatus(err, 409) ? undefined : rethrowKubeError(err, `creating Service ${input.namespace}/${name}`)));
}

function sameWorkload(current: V1StatefulSet, desired: V1StatefulSet): boolean {
  const pick = (s: V1StatefulSet) => ({
    replicas: s.spec?.replicas,
    revision: s.spec?.template.metadata?.labels?.[LABELS.revision],
    containers: s.spec?.template.spec?.containers.map((c) => ({
      name: c.name,
      image: c.image,
      env: (c.env ?? []).map((e) => [e.name, e.value]),
    })),
    annotations: s.spec?.template.metadata?.annotations ?? {},
  });
  return JSON.stringify(pick(current)) === JSON.stringify(pick(desired));
}
