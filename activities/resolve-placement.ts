import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/failures.js';
import { CELL_LABEL_KEY, NODE_TENANT_LABEL } from './cell-label.js';
import type { Clusters } from './clusters.js';
import { rethrowKubeError } from './kube-errors.js';

export interface ClusterCellsInput {
  tenant: string;
  clusters: string[];
}

/**
 * The cells of the tenant in each named cluster, from its nodes' labels (as `resolveCells` finds cells). A
 * cluster Barista does not know, or one without any cell of the tenant (another tenant's, or empty: which, the
 * tenant is not told), fails at once; a cluster that does not answer fails to be retried, naming it.
 */
export function createCellsOfClusters(clusters: Clusters) {
  return async function cellsOfClusters(input: ClusterCellsInput): Promise<Record<string, string[]>> {
    const listed = await Promise.all(
      input.clusters.map(async (cluster) => {
        const client = clusters.get(cluster); // an unknown cluster: non-retryable UnknownCluster
        try {
          const nodes = await client.core.listNode({ labelSelector: `${NODE_TENANT_LABEL}=${input.tenant},${CELL_LABEL_KEY}` });
          const cells = [...new Set(nodes.items.map((n) => n.metadata?.labels?.[CELL_LABEL_KEY]).filter((c): c is string => !!c))];
          return [cluster, cells.sort()] as const;
        } catch (err) {
          return rethrowKubeError(err, `listing the cells of cluster ${cluster}`);
        }
      }),
    );
    const empty = listed.filter(([, cells]) => cells.length === 0).map(([cluster]) => cluster);
    if (empty.length)
      throw ApplicationFailure.nonRetryable(`clusters ${empty.join(', ')} have no cells of tenant ${input.tenant}`, FailureTypes.forbidden);
    return Object.fromEntries(listed);
  };
}
