import type { V1StatefulSet } from '@kubernetes/client-node';
import type { Revision } from '../domain/index.js';
import { replicasIn, workloadName } from '../domain/index.js';
import { CELL_LABEL_KEY } from './cell-label.js';
import { LABELS, TRAFFIC_READY } from './labels.js';
import type { WorkloadRef } from './types.js';

/** Desired containers of a cell's pods at `revision`: template containers with the cell's env overrides. */
export function desiredContainers(revision: Revision, cell: string) {
  const override = revision.overrides[cell];
  return revision.template.containers.map((c) => {
    const env = { ...(c.env ?? {}), ...(override?.env ?? {}) };
    return {
      name: c.name,
      image: c.image,
      ...(Object.keys(env).length ? { env: Object.entries(env).map(([name, value]) => ({ name, value })) } : {}),
    };
  });
}

/** The annotations and labels of a cell's pods at `revision` that come from the App (Barista's own labels aside). */
export function desiredPodMetadata(
  revision: Revision,
  cell: string,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { ...(revision.template.labels ?? {}) },
    annotations: { ...(revision.template.annotations ?? {}), ...(revision.overrides[cell]?.annotations ?? {}) },
  };
}

export function selectorLabels(ref: WorkloadRef): Record<string, string> {
  return { [LABELS.app]: ref.app, [LABELS.cell]: ref.cell };
}

/**
 * The StatefulSet of (app, cell): RollingUpdate held by a partition at the replica count, so Barista and not
 * the controller decides which pod changes when (domain/partition.ts), and a pod recreated by the controller
 * comes back at the revision its group was approved for; pinned to the cell's nodes; every pod carries the
 * traffic readiness gate. `replicas` (default: the revision's) lets a first release create pods group by group.
 */
export function statefulSetFor(ref: WorkloadRef, revision: Revision, replicas = replicasIn(revision, ref.cell)): V1StatefulSet {
  const labels = { ...selectorLabels(ref), [LABELS.tenant]: ref.tenant, [LABELS.workspace]: ref.workspace, [LABELS.managedBy]: 'barista' };
  const app = desiredPodMetadata(revision, ref.cell);
  const annotations = app.annotations;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: workloadName(ref.app, ref.cell),
      namespace: ref.namespace,
      labels: { ...labels, [LABELS.revision]: String(revision.number) },
    },
    spec: {
      replicas,
      serviceName: workloadName(ref.app, ref.cell),
      podManagementPolicy: 'Parallel',
      updateStrategy: heldUpdateStrategy(replicas),
      selector: { matchLabels: selectorLabels(ref) },
      template: {
        metadata: {
          labels: { ...app.labels, ...labels, [LABELS.revision]: String(revision.number) },
          ...(Object.keys(annotations).length ? { annotations } : {}),
        },
        spec: {
          nodeSelector: { [CELL_LABEL_KEY]: ref.cell },
          readinessGates: [{ conditionType: TRAFFIC_READY }],
          terminationGracePeriodSeconds: 30,
          containers: desiredContainers(revision, ref.cell),
        },
      },
    },
  };
}

/** Controller label naming the ControllerRevision a pod was made from; the partition compares it. */
export const CONTROLLER_REVISION_LABEL = 'controller-revision-hash';

/** A rolling update that changes no pod by itself: every ordinal is below the partition. */
export function heldUpdateStrategy(replicas: number) {
  return { type: 'RollingUpdate', rollingUpdate: { partition: replicas } };
}
