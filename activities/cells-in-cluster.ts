import { CELL_LABEL_KEY, NODE_TENANT_LABEL } from './cell-label.js';
import type { Clusters } from './clusters.js';
import { rethrowKubeError } from './kube-errors.js';
import type { CellsInClusterInput, CellsInClusterResult } from '../domain/cell-locations.js';

/**
 * One cluster's answer to "where are these cells": which of `cells` (all, without `cells`) its nodes carry for the
 * tenant, and which for another tenant. The per-cluster half of `resolveCells`, for a cluster only its agent can
 * ask (workflows/locate-cells.ts merges the answers with domain/cell-locations.ts). A cluster that does not
 * answer fails the attempt, to be retried within the step's budget.
 */
export function createCellsInCluster(clusters: Clusters) {
  return async function cellsInCluster(input: CellsInClusterInput): Promise<CellsInClusterResult> {
    const client = clusters.get(input.cluster); // an unknown cluster: non-retryable UnknownCluster
    const selector = input.cells ? `${CELL_LABEL_KEY} in (${input.cells.join(',')})` : CELL_LABEL_KEY;
    try {
      const nodes = (await client.core.listNode({ labelSelector: selector })).items;
      const mine = new Set<string>();
      const foreign = new Set<string>();
      for (const node of nodes) {
        const cell = node.metadata?.labels?.[CELL_LABEL_KEY];
        if (!cell) continue;
        (node.metadata?.labels?.[NODE_TENANT_LABEL] === input.tenant ? mine : foreign).add(cell);
      }
      return { cluster: input.cluster, mine: [...mine].sort(), foreign: [...foreign].filter((c) => !mine.has(c)).sort() };
    } catch (err) {
      return rethrowKubeError(err, `listing the cells of cluster ${input.cluster}`);
    }
  };
}
