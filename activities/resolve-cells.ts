import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/failures.js';
import { CELL_LABEL_KEY, NODE_TENANT_LABEL } from './cell-label.js';
import type { Clusters } from './clusters.js';
import { rethrowKubeError } from './kube-errors.js';
import type { ResolveCellsInput } from './types.js';

/**
 * Finds the cluster of each cell from node labels. A cell no cluster knows, or one that belongs to
 * another tenant, fails fast: a release must never touch another tenant's cells. An unreachable cluster
 * matters only when a cell is missing: then the cell may be there, so the attempt fails to be retried.
 */
export function createResolveCells(clusters: Clusters) {
  return async function resolveCells(input: ResolveCellsInput): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    const foreign: string[] = [];
    const unreachable: string[] = [];
    for (const name of clusters.names()) {
      const { core } = clusters.get(name);
      const nodes = await core.listNode({ labelSelector: `${CELL_LABEL_KEY} in (${input.cells.join(',')})` }).catch((err: unknown) => {
        try {
          return rethrowKubeError(err, `listing nodes of cluster ${name}`);
        } catch (classified) {
          if (classified instanceof ApplicationFailure) throw classified; // forbidden, invalid: not transient
          unreachable.push(`cluster ${name}: ${(classified as Error).message}`);
          return { items: [] };
        }
      });
      for (const node of nodes.items) {
        const cell = node.metadata?.labels?.[CELL_LABEL_KEY];
        if (!cell) continue;
        if (node.metadata?.labels?.[NODE_TENANT_LABEL] !== input.tenant) foreign.push(cell);
        else found[cell] = name;
      }
    }
    const forbidden = [...new Set(foreign)].filter((c) => !found[c]);
    if (forbidden.length)
      throw ApplicationFailure.nonRetryable(
        `cells ${forbidden.join(', ')} belong to another tenant than ${input.tenant}`,
        FailureTypes.forbidden,
      );
    const missing = input.cells.filter((c) => !found[c]);
    if (missing.length && unreachable.length)
      throw new Error(`cells ${missing.join(', ')} not found while clusters fail: ${unreachable.join('; ')}`);
    if (missing.length)
      throw ApplicationFailure.nonRetryable(
        `cells ${missing.join(', ')} are not known in any cluster (known clusters: ${clusters.names().join(', ')})`,
        FailureTypes.unknownCell,
      );
    return found;
  };
}
