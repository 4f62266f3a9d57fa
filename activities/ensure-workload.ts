import { ensureTenantAccess } from './tenant-access.js';
import { PatchStrategy, setHeaderOptions, type AppsV1Api, type CoreV1Api, type V1StatefulSet } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { FailureTypes } from '../domain/failures.js';
import { metadataChanges, replicasIn, workloadName, type MetadataPolicy } from '../domain/index.js';
import type { Clusters } from './clusters.js';
import { adoptLegacyWorkload } from './adopt-legacy-workload.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, LABELS } from './labels.js';
import type { EnsureWorkloadInput, EnsureWorkloadResult } from './types.js';
import { selectorLabels, statefulSetFor } from './workload-manifest.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Ensures the namespace and the StatefulSet of (app, cell) exist with the revision's template and replicas,
 * and returns the controller's update revision. A new template goes in together with the partition at the top,
 * so no pod moves by itself (domain/partition.ts). Reads first; writes only what differs, with the object's
 * resourceVersion as precondition (409 → retry).
 */
export function createEnsureWorkload(clusters: Clusters, logger: Logger) {
  return async function ensureWorkload(input: EnsureWorkloadInput): Promise<EnsureWorkloadResult> {
    // the tenant's namespace and its RBAC, with the worker's identity; everything else as the tenant's user
    await ensureTenantAccess(clusters, input);
    const { core, apps } = clusters.forTenant(input.cluster, input.tenant);
    const full = replicasIn(input.revision, input.cell);
    const name = workloadName(input.app, input.cell);
    const log = logger.child({ app: input.app, cell: input.cell, cluster: input.cluster, revision: input.revision.number });

    await ensureService(core, input, name);

    let current: V1StatefulSet | undefined;
    try {
      current = await apps.readNamespacedStatefulSet({ name, namespace: input.namespace });
    } catch (err) {
      if (!isStatus(err, 404)) rethrowKubeError(err, `reading StatefulSet ${input.namespace}/${name}`);
    }
    // a first release grows the workload group by group (never past the revision's replicas, never shrinking it)
    const replicas =
      input.keepReplicas && current?.spec?.replicas !== undefined
        ? current.spec.replicas
        : input.replicas === undefined
          ? full
          : Math.min(full, Math.max(current?.spec?.replicas ?? 0, input.replicas));
    const desired = statefulSetFor(input, input.revision, replicas);
    if (!current) {
      await apps
        .createNamespacedStatefulSet({ namespace: input.namespace, body: desired, fieldManager: FIELD_MANAGER })
        .catch((err: unknown) => rethrowKubeError(err, `creating StatefulSet ${name}`));
      log.info('workload created');
      return { created: true, updated: false, updateRevision: await awaitObserved(apps, input, name) };
    }
    const owner = current.metadata?.labels?.[LABELS.tenant];
    if (owner !== input.tenant)
      throw ApplicationFailure.nonRetryable(
        `StatefulSet ${input.namespace}/${name} in ${input.cluster} belongs to tenant ${owner ?? '(none)'}, not ${input.tenant}`,
        FailureTypes.forbidden,
      );
    const policy = input.revision.metadataPolicy;
    const templateChanged = !sameTemplate(current, desired, policy);
    // a workload made before revision-safe pods (OnDelete) is adopted before its template changes
    if (templateChanged && current.spec?.updateStrategy?.rollingUpdate?.partition === undefined) {
      await adoptLegacyWorkload(clusters.forTenant(input.cluster, input.tenant), input, current, log);
      current = await apps
        .readNamespacedStatefulSet({ name, namespace: input.namespace })
        .catch((err: unknown) => rethrowKubeError(err, `reading StatefulSet ${input.namespace}/${name}`));
    }
    const unheld = current.spec?.updateStrategy?.rollingUpdate?.partition === undefined;
    const replicasChanged = current.spec?.replicas !== desired.spec?.replicas;
    if (!templateChanged && !unheld && !replicasChanged) {
      return { created: false, updated: false, updateRevision: await awaitObserved(apps, input, name) };
    }
    await apps
      .patchNamespacedStatefulSet(
        {
          name,
          namespace: input.namespace,
          fieldManager: FIELD_MANAGER,
          body: {
            metadata: { resourceVersion: current.metadata?.resourceVersion, labels: desired.metadata?.labels },
            spec: {
              replicas: desired.spec?.replicas,
              // a new template and the partition at the top in one write: no pod moves until Barista moves it
              ...(templateChanged ? { template: templatePatch(current, desired, policy) } : {}),
              ...(templateChanged || unheld ? { updateStrategy: desired.spec?.updateStrategy } : {}),
            },
          },
        },
        mergePatch,
      )
      .catch((err: unknown) => rethrowKubeError(err, `updating StatefulSet ${name}`));
    log.info({ templateChanged, replicas: desired.spec?.replicas }, 'workload updated');
    return { created: false, updated: true, updateRevision: await awaitObserved(apps, input, name) };
  };
}

/** How long the StatefulSet controller may take to observe a write before the attempt fails (and is retried). */
const OBSERVE_TIMEOUT_MS = 20_000;

/**
 * Waits until the StatefulSet controller has observed the workload's latest generation and returns its update
 * revision: the ControllerRevision name pods moved to the new template must carry.
 */
export async function awaitObserved(apps: AppsV1Api, ref: { namespace: string; cluster: string }, name: string): Promise<string> {
  const deadline = Date.now() + OBSERVE_TIMEOUT_MS;
  for (;;) {
    const set = await apps
      .readNamespacedStatefulSet({ name, namespace: ref.namespace })
      .catch((err: unknown) => rethrowKubeError(err, `reading StatefulSet ${ref.namespace}/${name}`));
    const observed = (set.status?.observedGeneration ?? 0) >= (set.metadata?.generation ?? 1);
    if (observed && set.status?.updateRevision) return set.status.updateRevision;
    if (Date.now() >= deadline)
      throw new Error(`the StatefulSet controller of cluster ${ref.cluster} has not observed ${ref.namespace}/${name} yet`);
    heartbeatSafe();
    await new Promise((r) => setTimeout(r, 250));
  }
}

function heartbeatSafe(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // outside an activity (tests)
  }
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

/**
 * The template differs in what Barista decides: revision, containers, and the annotations and labels the App sets
 * or its policy calls Barista's (keys others added, status keys among them, are not a difference).
 */
function sameTemplate(current: V1StatefulSet, desired: V1StatefulSet, policy: MetadataPolicy | undefined): boolean {
  const pick = (s: V1StatefulSet) => ({
    revision: s.spec?.template.metadata?.labels?.[LABELS.revision],
    containers: s.spec?.template.spec?.containers.map((c) => ({
      name: c.name,
      image: c.image,
      env: (c.env ?? []).map((e) => [e.name, e.value]),
    })),
  });
  const { annotations, labels } = templateMetadataChanges(current, desired, policy);
  return JSON.stringify(pick(current)) === JSON.stringify(pick(desired)) && !nonEmpty(annotations) && !nonEmpty(labels);
}

function templateMetadataChanges(current: V1StatefulSet, desired: V1StatefulSet, policy: MetadataPolicy | undefined) {
  const now = current.spec?.template.metadata;
  const want = desired.spec?.template.metadata;
  return {
    annotations: metadataChanges(now?.annotations, want?.annotations ?? {}, policy),
    labels: metadataChanges(now?.labels, want?.labels ?? {}, policy),
  };
}

/**
 * The desired template as a merge patch: the App's annotations and labels set, the ones the policy calls
 * Barista's that the App no longer sets removed (null), every other key left as it is.
 */
function templatePatch(current: V1StatefulSet, desired: V1StatefulSet, policy: MetadataPolicy | undefined) {
  const template = desired.spec!.template;
  const { annotations, labels } = templateMetadataChanges(current, desired, policy);
  return {
    ...template,
    metadata: {
      ...template.metadata,
      labels: { ...template.metadata?.labels, ...labels },
      annotations: { ...template.metadata?.annotations, ...annotations },
    },
  };
}

function nonEmpty(record: Record<string, unknown>): boolean {
  return Object.keys(record).length > 0;
}
