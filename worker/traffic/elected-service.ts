import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { freshEachTerm, leadPerCluster, processIdentity, type LeaderElectionOptions } from '../kube/leader-election.js';
import { ServiceTrafficComponent } from './service/index.js';

/** Lease of the Service traffic component in each cluster: one instance acts there, the others stand by. */
export const SERVICE_TRAFFIC_LEASE = 'barista-traffic-service';

export interface ElectedComponents {
  stop: () => Promise<void>;
  /** The clusters where this process's component holds the Lease now. */
  leading: () => string[];
}

/**
 * The Service traffic component of each cluster given, run only while this process holds the cluster's Lease:
 * `npm run traffic:service` for the clusters of a kubeconfig, a cluster agent for its own cluster.
 */
export function startServiceTrafficOf(
  clusters: Map<string, KubeConfig>,
  logger: Logger,
  election: Partial<LeaderElectionOptions> = {},
): Promise<ElectedComponents> {
  return leadPerCluster(
    clusters,
    { lease: SERVICE_TRAFFIC_LEASE, identity: processIdentity(), ...election },
    (cluster, kc) => freshEachTerm(() => new ServiceTrafficComponent(kc, logger.child({ cluster }))),
    logger,
  );
}
