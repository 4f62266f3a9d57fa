import type { Activities } from './index.js';

/**
 * The activities a release sends to an agent-served cluster's queue (workflows/cluster-routing.ts, forCluster):
 * each acts on the one cluster named in its input. What a cluster agent registers, and nothing more: no
 * workflows, no activities that span clusters (cell resolution across clusters) or only talk to Temporal or the
 * audit store.
 */
export const CLUSTER_ACTIVITY_NAMES = [
  'ensureWorkload',
  'ensurePodReleased',
  'ensurePodHandedBack',
  'awaitGroupStable',
  // where a release's cells are, in this cluster (workflows/locate-cells.ts)
  'cellsInCluster',
  // disaster mode's probes and watch of the cluster, from inside it (workflows/release-disaster.ts)
  'probeClusters',
  'awaitClusterLost',
  // drift repair's reads and repairs of the cluster (workflows/drift-app.ts)
  'observeCellDrift',
  'ensurePodMetadata',
  'ensureFinalizersLifted',
] as const;

export type ClusterActivityName = (typeof CLUSTER_ACTIVITY_NAMES)[number];
export type ClusterActivities = Pick<Activities, ClusterActivityName>;

/** The cluster activities out of all of them, so an agent builds them with the same factory as the central worker. */
export function pickClusterActivities(all: Activities): ClusterActivities {
  return Object.fromEntries(CLUSTER_ACTIVITY_NAMES.map((name) => [name, all[name]])) as ClusterActivities;
}
