import { ActivityFailure, ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ClusterRoutes } from '../domain/cluster-queues.js';
import { FailureTypes } from '../domain/failures.js';
import { clusterRoutes } from './activity-proxies.js';
import { forCluster } from './cluster-routing.js';
import { cellsOfClustersRouted, resolveCellsRouted } from './locate-cells.js';

/**
 * How long the clusters get to say where a cell is, retries included, before the cell counts as unchecked. Above
 * one Kubernetes request deadline (10 s by default, worker/kube/deadlines.ts), so that a cluster that does not
 * answer is named by the failed list of its nodes rather than by a bare timeout.
 */
export const CHECK_CELLS_DEADLINE_SECONDS = 15;

export interface CheckCellsInput {
  tenant: string;
  workspace: string;
  cells: string[];
}

/** What the clusters said about one cell of a placement. */
export type CellCheck =
  | { cell: string; outcome: 'found'; cluster: string }
  | { cell: string; outcome: 'unknown' }
  | { cell: string; outcome: 'foreign' }
  /** No answer within the deadline: a cluster that could hold the cell did not answer (`reason` names it). */
  | { cell: string; outcome: 'unchecked'; reason: string };

/** Workflow id of one check of an App's placement. */
export function checkCellsId(tenant: string, app: string, nonce: string): string {
  return `check-cells/${tenant}/${app}/${nonce}`;
}

const central = proxyActivities<Activities>({
  scheduleToCloseTimeout: `${CHECK_CELLS_DEADLINE_SECONDS}s`,
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '2s',
    nonRetryableErrorTypes: [FailureTypes.unknownCell, FailureTypes.forbidden, FailureTypes.invalidInput, FailureTypes.unknownCluster],
  },
});

/**
 * Asks the clusters, before an App is registered, where each cell of its placement is: one `resolveCells`
 * per cell (so that each answer names its cell), each within a short deadline. The API has no cluster
 * credentials; the worker has. Never fails: every cell gets an outcome.
 */
export async function checkCells(input: CheckCellsInput): Promise<CellCheck[]> {
  const routes = await routesOfCheck();
  return Promise.all(input.cells.map((cell) => checkCell(input, cell, routes)));
}

/** v2: the cells and clusters of agent-served clusters are asked of their agents (workflows/locate-cells.ts). */
async function routesOfCheck(): Promise<ClusterRoutes | undefined> {
  return patched('cluster-agents') ? await clusterRoutes() : undefined;
}

/** An agent-served cluster's answer, on its agent's queue within the check's deadline. */
const agentOf = (routes: ClusterRoutes | undefined) => (cluster: string) =>
  forCluster(routes, cluster).budgeted(CHECK_CELLS_DEADLINE_SECONDS);

async function checkCell(input: CheckCellsInput, cell: string, routes: ClusterRoutes | undefined): Promise<CellCheck> {
  try {
    const found = await resolveCellsRouted(routes, central, agentOf(routes), {
      tenant: input.tenant,
      workspace: input.workspace,
      cells: [cell],
    });
    return { cell, outcome: 'found', cluster: found[cell] ?? '' };
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err instanceof ApplicationFailure ? err : undefined;
    if (cause instanceof ApplicationFailure && cause.type === FailureTypes.unknownCell) return { cell, outcome: 'unknown' };
    if (cause instanceof ApplicationFailure && cause.type === FailureTypes.forbidden) return { cell, outcome: 'foreign' };
    return { cell, outcome: 'unchecked', reason: cause?.message ?? (err as Error).message };
  }
}

export interface CheckClustersInput {
  tenant: string;
  clusters: string[];
}

/** What a cluster of a placement holds for the tenant. */
export type ClusterCheck =
  | { cluster: string; outcome: 'found'; cells: string[] }
  /** Not a cluster the worker is configured for. */
  | { cluster: string; outcome: 'unknown' }
  /** No cell of the tenant there (another tenant's cluster, or no cells at all: the tenant is not told which). */
  | { cluster: string; outcome: 'empty' }
  | { cluster: string; outcome: 'unchecked'; reason: string };

/** Asks each cluster of a placement for the tenant's cells in it, as `checkCells` asks about cells. Never fails. */
export async function checkClusters(input: CheckClustersInput): Promise<ClusterCheck[]> {
  const routes = await routesOfCheck();
  return Promise.all(input.clusters.map((cluster) => checkCluster(input.tenant, cluster, routes)));
}

async function checkCluster(tenant: string, cluster: string, routes: ClusterRoutes | undefined): Promise<ClusterCheck> {
  try {
    const found = await cellsOfClustersRouted(routes, central, agentOf(routes), { tenant, clusters: [cluster] });
    return { cluster, outcome: 'found', cells: found[cluster] ?? [] };
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err instanceof ApplicationFailure ? err : undefined;
    if (cause instanceof ApplicationFailure && cause.type === FailureTypes.unknownCluster) return { cluster, outcome: 'unknown' };
    if (cause instanceof ApplicationFailure && cause.type === FailureTypes.forbidden) return { cluster, outcome: 'empty' };
    return { cluster, outcome: 'unchecked', reason: cause?.message ?? (err as Error).message };
  }
}
