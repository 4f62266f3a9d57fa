import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { createActivityMetrics, type ActivityMetrics } from './metrics.js';
import { createAppendAudit } from './append-audit.js';
import type { AuditStore } from './audit-store.js';
import { createAwaitGroupStable } from './await-group-stable.js';
import { createAwaitReleaseClosed } from './await-release-closed.js';
import type { Clusters } from './clusters.js';
import { DetachedAttempts } from './detached.js';
import { createEnsurePodReleased } from './ensure-pod-released.js';
import { createEnsurePodHandedBack } from './ensure-pod-handed-back.js';
import { createEnsureWorkload } from './ensure-workload.js';
import { createClusterProbes } from './probe-clusters.js';
import { createResolveCells, createResolveReachableCells } from './resolve-cells.js';
import { createCellsOfClusters } from './resolve-placement.js';
import { createCellsInCluster } from './cells-in-cluster.js';
import { createPrepareRelease, createStartQueuedRelease } from './start-queued-release.js';
import { createActiveChangeWindow } from './active-change-window.js';
import { createClusterRoutes } from './cluster-routes.js';
import { createDriftTargetActivities } from './drift-targets.js';
import { createEnsureFinalizersLifted } from './ensure-finalizers-lifted.js';
import { createEnsurePodMetadata } from './ensure-pod-metadata.js';
import { createObserveCellDrift } from './observe-cell-drift.js';
import { createRecordDriftReport } from './record-drift-report.js';
import { createMeasureCheck, type VerificationDeps } from './measure-check.js';

export { Clusters } from './clusters.js';
export { CLUSTER_ACTIVITY_NAMES, pickClusterActivities, type ClusterActivities } from './cluster-activities.js';
export { AuditStore } from './audit-store.js';
export { DetachedAttempts } from './detached.js';
export { createActivityMetrics, type ActivityMetrics } from './metrics.js';
export { LABELS, TRAFFIC_READY, FIELD_MANAGER } from './labels.js';
export { PrometheusClient } from './checks/prometheus-client.js';
export type { VerificationDeps } from './measure-check.js';
export { createNotificationActivities, type NotificationActivities, type NotificationLinks } from './notifications.js';

export interface ActivityDeps {
  clusters: Clusters;
  logger: Logger;
  /** Test-only: skip waiting for traffic components, to show that the counter sees loss without draining. */
  skipDrainForTests?: boolean;
  metrics?: ActivityMetrics;
  /** Where the long waits (pod steps, auto gate windows) run without holding an activity slot; inline if absent. */
  detached?: DetachedAttempts;
  /** The durable audit record (PostgreSQL); without it, audit entries stay in the workflows only. */
  audit?: AuditStore;
  /** Prometheus and the webhook signing secret for gate checks. */
  verification?: VerificationDeps;
}

/** Every activity Barista's workflows call, built from their dependencies (real clients, a logger). */
export function createActivities({
  clusters,
  logger,
  skipDrainForTests,
  metrics = createActivityMetrics(),
  detached = new DetachedAttempts(undefined, logger),
  audit,
  verification = {},
}: ActivityDeps) {
  const ensurePodReleased = createEnsurePodReleased(clusters, logger, { skipDrainForTests });
  const probes = createClusterProbes(clusters);
  const activities = {
    resolveCells: createResolveCells(clusters),
    resolveReachableCells: createResolveReachableCells(clusters),
    cellsOfClusters: createCellsOfClusters(clusters),
    cellsInCluster: createCellsInCluster(clusters),
    ensureWorkload: createEnsureWorkload(clusters, logger),
    ensurePodReleased: detached.wrap(async (input: Parameters<typeof ensurePodReleased>[0], ctx) => {
      const result = await ensurePodReleased(input, ctx);
      if (result.changed) metrics.podsChanged.inc({ app: input.app, cell: input.cell });
      return result;
    }),
    awaitGroupStable: detached.wrap(createAwaitGroupStable(clusters)),
    ensurePodHandedBack: createEnsurePodHandedBack(clusters),
    probeClusters: probes.probeClusters,
    awaitClusterLost: detached.wrap(probes.awaitClusterLost),
    appendAudit: createAppendAudit(audit, logger),
    observeCellDrift: createObserveCellDrift(clusters),
    ensurePodMetadata: createEnsurePodMetadata(clusters),
    ensureFinalizersLifted: createEnsureFinalizersLifted(clusters),
    recordDriftReport: createRecordDriftReport({ ...(audit ? { audit } : {}), metrics, logger }),
    measureCheck: createMeasureCheck(verification, logger),
  };
  return countingRetries(activities, metrics);
}

/** Wraps each activity so that an attempt after the first is counted, by activity name. */
function countingRetries<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, metrics: ActivityMetrics): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = (...args: never[]) => {
      if (attempt() > 1) metrics.activityRetries.inc({ activity: name });
      return fn(...args);
    };
  }
  return wrapped as T;
}

function attempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * The release queue's activities: they start releases and wait for them through Temporal, so they take a
 * Temporal client (the worker's own connection), not the clusters; and the routes of cluster agents, from the
 * central worker's configuration (`agentClusters`: the agent-served clusters; none by default).
 */
export function createReleaseQueueActivities(temporal: Client, routing: { agentClusters?: readonly string[] } = {}) {
  return {
    clusterRoutes: createClusterRoutes(routing.agentClusters ?? []),
    startQueuedRelease: createStartQueuedRelease(temporal),
    prepareRelease: createPrepareRelease(temporal),
    activeChangeWindow: createActiveChangeWindow(temporal),
    awaitReleaseClosed: createAwaitReleaseClosed(temporal),
    ...createDriftTargetActivities(temporal),
  };
}

export type ReleaseQueueActivities = ReturnType<typeof createReleaseQueueActivities>;
