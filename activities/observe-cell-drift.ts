import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  DEFAULT_DRIFT_SETTINGS,
  podDrift,
  trafficFinalizer,
  workloadDrift,
  workloadName,
  type ContainerShape,
  type DriftSettings,
  type FieldDrift,
  type PodDrift,
  type PodShape,
  type Revision,
} from '../domain/index.js';
import type { Clusters } from './clusters.js';
import { isStatus, rethrowKubeError } from './kube-errors.js';
import { FIELD_MANAGER, GATE_REASONS, LABELS, TRAFFIC_READY } from './labels.js';
import type { WorkloadRef } from './types.js';
import { desiredContainers, desiredPodMetadata, selectorLabels, statefulSetFor } from './workload-manifest.js';

export interface ObserveCellDriftInput extends WorkloadRef {
  /** The revision recorded for the cell (its overrides only). */
  revision: Revision;
  traffic: { name: string; deregistrationTimeoutSeconds: number }[];
  settings?: Pick<DriftSettings, 'ignore' | 'handEditManagers'>;
}

export interface CellDrift {
  /** The workload is gone; or the fields of it that differ. */
  workload: 'missing' | FieldDrift[];
  /** Pods that differ, and what brings each back. */
  pods: PodDrift[];
  /** Pods read (for reports and the benchmark). */
  podsSeen: number;
}

/** A ready pod gets this long for the gate keeper to open it before its closed gate is drift. */
const GATE_GRACE_SECONDS = 60;

/**
 * Reads one cell's workload (one GET) and pods (one list by label) and says how they differ from the recorded
 * revision (domain/drift.ts). Changes nothing.
 */
export function createObserveCellDrift(clusters: Clusters) {
  return async function observeCellDrift(input: ObserveCellDriftInput): Promise<CellDrift> {
    const client = clusters.forTenant(input.cluster, input.tenant);
    const settings = input.settings ?? DEFAULT_DRIFT_SETTINGS;
    const name = workloadName(input.app, input.cell);
    let current: V1StatefulSet | undefined;
    try {
      current = await client.apps.readNamespacedStatefulSet({ name, namespace: input.namespace });
    } catch (err) {
      if (!isStatus(err, 404)) rethrowKubeError(err, `reading StatefulSet ${input.namespace}/${name}`);
    }
    const pods = await cellPods(clusters, input);
    const policy = input.revision.metadataPolicy;
    const want = desiredPodMetadata(input.revision, input.cell);
    const expectations = {
      revision: input.revision.number,
      containers: desiredContainers(input.revision, input.cell),
      annotations: want.annotations,
      labels: want.labels,
      ...(policy ? { policy } : {}),
      traffic: input.traffic.map((t) => ({ finalizer: trafficFinalizer(t.name), timeoutSeconds: t.deregistrationTimeoutSeconds })),
      gateCondition: TRAFFIC_READY,
      drainingReason: GATE_REASONS.draining,
      graceSeconds: GATE_GRACE_SECONDS,
      now: Date.now(),
    };
    const podDrifts = pods.map((p) => podDrift(podShape(p), expectations, settings.ignore)).filter((d): d is PodDrift => d !== undefined);
    if (!current) return { workload: 'missing', pods: podDrifts, podsSeen: pods.length };
    const desired = statefulSetFor(input, input.revision);
    const workload = workloadDrift(shapeOf(desired), shapeOf(current), current.metadata?.managedFields ?? [], {
      ...(policy ? { policy } : {}),
      settings,
      manager: FIELD_MANAGER,
    });
    return { workload, pods: podDrifts, podsSeen: pods.length };
  };
}

/**
 * The cell's pods, one list by label. Not from the worker's shared pod watch: a run reports what the cluster holds
 * when it asks, and a change made a moment before (`kubectl annotate`, then `barista drift run`) may not have reached
 * the watch yet, so the run would call the pod clean.
 */
async function cellPods(clusters: Clusters, input: ObserveCellDriftInput): Promise<V1Pod[]> {
  const client = clusters.forTenant(input.cluster, input.tenant);
  const list = await client.core
    .listNamespacedPod({
      namespace: input.namespace,
      labelSelector: Object.entries(selectorLabels(input))
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    })
    .catch((err: unknown) => rethrowKubeError(err, `listing pods of ${input.app} in ${input.namespace}`));
  return list.items;
}

function shapeOf(set: V1StatefulSet) {
  const template = set.spec?.template;
  return {
    ...(set.spec?.replicas !== undefined ? { replicas: set.spec.replicas } : {}),
    containers: containersOf(template?.spec?.containers),
    annotations: template?.metadata?.annotations ?? {},
    labels: template?.metadata?.labels ?? {},
  };
}

function containersOf(
  containers: { name: string; image?: string; env?: { name: string; value?: string }[] }[] | undefined,
): ContainerShape[] {
  return (containers ?? []).map((c) => ({
    name: c.name,
    ...(c.image !== undefined ? { image: c.image } : {}),
    ...(c.env ? { env: c.env.map((e) => ({ name: e.name, ...(e.value !== undefined ? { value: e.value } : {}) })) } : {}),
  }));
}

function podShape(pod: V1Pod): PodShape {
  const gate = pod.status?.conditions?.find((c) => c.type === TRAFFIC_READY);
  const ready = pod.status?.conditions?.find((c) => c.type === 'ContainersReady' && c.status === 'True');
  const deleting = pod.metadata?.deletionTimestamp;
  return {
    name: pod.metadata?.name ?? '',
    ...(pod.metadata?.labels?.[LABELS.revision] !== undefined ? { revisionLabel: pod.metadata.labels[LABELS.revision] } : {}),
    containers: containersOf(pod.spec?.containers),
    annotations: pod.metadata?.annotations ?? {},
    labels: pod.metadata?.labels ?? {},
    finalizers: pod.metadata?.finalizers ?? [],
    ...(deleting ? { terminatingSince: new Date(deleting).toISOString() } : {}),
    ...(gate ? { gate: { status: gate.status, ...(gate.reason ? { reason: gate.reason } : {}) } } : {}),
    ...(ready ? { readySince: new Date(ready.lastTransitionTime ?? 0).toISOString() } : {}),
  };
}
