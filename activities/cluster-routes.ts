import type { ClusterRoutes } from '../domain/cluster-queues.js';

/**
 * The central worker's answer to "which clusters are agent-served" (its BARISTA_AGENT_CLUSTERS, or the topology's
 * `access: agent` clusters). A release asks once when it starts, so its history holds the routes it ran with
 * and replays with them; the list is read at each call, so a test may change it between releases.
 */
export function createClusterRoutes(agentClusters: readonly string[]) {
  return async function clusterRoutes(): Promise<ClusterRoutes> {
    return { agentServed: [...agentClusters].sort() };
  };
}
