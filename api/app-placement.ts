import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { DomainError, placedCells, type AppSpec, type FieldIssue } from '../domain/index.js';
import {
  CHECK_CELLS_DEADLINE_SECONDS,
  checkCellsId,
  type CellCheck,
  type CheckCellsInput,
  type CheckClustersInput,
  type ClusterCheck,
} from '../workflows/check-cells.js';
import { UnavailableError } from './errors.js';

/** How long the check may take in all, the worker picking it up included, before the API gives up (503). */
const CHECK_WORKFLOW_TIMEOUT_SECONDS = CHECK_CELLS_DEADLINE_SECONDS + 10;

/** What the clusters said about a placement: each named cell, and each named cluster. */
export interface PlacementChecks {
  cells: CellCheck[];
  clusters: ClusterCheck[];
}

/**
 * Refuses a placement that cannot work, before the App is registered: every cell must exist in some cluster and
 * belong to the App's tenant; every cluster must be known and hold cells of the tenant; a cell is named once
 * (not also through its cluster); overrides name cells and clusters of the placement. The API has no cluster
 * credentials, so short `checkCells`/`checkClusters` workflows run on the worker's task queue. Problems:
 * DomainError naming the field (a foreign cell's or cluster's tenant is not told). A cluster that does not answer
 * in time about a cell or cluster this change adds: UnavailableError naming it (503). What the `registered`
 * placement already had and cannot be checked now passes: it was checked when added, and an App must stay
 * changeable while one of its clusters is down (disaster mode).
 */
export async function checkPlacement(
  client: Client,
  taskQueue: string,
  spec: AppSpec,
  registered: AppSpec['placement'] = { cells: [] },
): Promise<void> {
  const checks = await askClusters(client, taskQueue, spec);
  const issues = placementIssues(spec, checks);
  if (issues.length) throw DomainError.invalid(issues);
  refuseUnchecked(spec, checks, [...registered.cells, ...(registered.clusters ?? [])]);
}

/** A cell or cluster of a placement whose clusters did not answer in time (located with `unanswered: 'report'`). */
export interface Unanswered {
  /** A cell that could not be located: given to `cluster` (the clusters that could hold it, "kc6 or kc7"). */
  cell?: string;
  /** A cluster of placement.clusters whose cells could not be listed: they are not in `cells`. */
  cluster: string;
  reason: string;
}

/**
 * Where every cell of the App is now, for a release that must know before it starts (its placement or mask names
 * clusters, or a dry run): the placement's cells (the clusters' looked up) and the cluster of each. Problems as
 * checkPlacement; with `unanswered: 'report'`, what did not answer is returned instead of refused (503): a cell as
 * the workflow's disaster mode places it (with the clusters that did not answer), a cluster's cells left out.
 */
export async function locatePlacement(
  client: Client,
  taskQueue: string,
  spec: AppSpec,
  opts: { unanswered?: 'refuse' | 'report' } = {},
): Promise<{ cells: string[]; clusterOf: Record<string, string>; unanswered: Unanswered[] }> {
  const checks = await askClusters(client, taskQueue, spec);
  const issues = placementIssues(spec, checks);
  if (issues.length) throw DomainError.invalid(issues);
  if (opts.unanswered !== 'report') refuseUnchecked(spec, checks, []);
  const clusterOf: Record<string, string> = {};
  const unanswered: Unanswered[] = [];
  for (const c of checks.cells) {
    if (c.outcome === 'found') clusterOf[c.cell] = c.cluster;
    if (c.outcome === 'unchecked') {
      const cluster = namedClusters(c.reason).join(' or ') || 'a cluster that did not answer';
      clusterOf[c.cell] = cluster;
      unanswered.push({ cell: c.cell, cluster, reason: c.reason });
    }
  }
  for (const k of checks.clusters) if (k.outcome === 'unchecked') unanswered.push({ cluster: k.cluster, reason: k.reason });
  const cellsOf: Record<string, string[]> = {};
  for (const k of checks.clusters)
    if (k.outcome === 'found') {
      cellsOf[k.cluster] = k.cells;
      for (const cell of k.cells) clusterOf[cell] = k.cluster;
    }
  return { cells: placedCells(spec.placement, cellsOf), clusterOf, unanswered };
}

/** The clusters a failure names ("cluster kc2: no answer to GET /api/v1/nodes within 10s; cluster kc3: …"). */
function namedClusters(reason: string): string[] {
  return [...new Set([...reason.matchAll(/cluster (\S+?):/g)].map((m) => m[1]!))];
}

async function askClusters(client: Client, taskQueue: string, spec: AppSpec): Promise<PlacementChecks> {
  const cells: CheckCellsInput = { tenant: spec.tenant, workspace: spec.workspace, cells: spec.placement.cells };
  const clusters: CheckClustersInput = { tenant: spec.tenant, clusters: spec.placement.clusters ?? [] };
  const [cellChecks, clusterChecks] = await Promise.all([
    cells.cells.length ? runCheck<CellCheck[]>(client, taskQueue, spec, 'checkCells', cells) : [],
    clusters.clusters.length ? runCheck<ClusterCheck[]>(client, taskQueue, spec, 'checkClusters', clusters) : [],
  ]);
  return { cells: cellChecks, clusters: clusterChecks };
}

async function runCheck<T>(client: Client, taskQueue: string, spec: AppSpec, workflow: string, input: unknown): Promise<T> {
  try {
    return await client.workflow.execute(workflow, {
      workflowId: checkCellsId(spec.tenant, spec.name, randomUUID()),
      taskQueue,
      args: [input],
      workflowExecutionTimeout: `${CHECK_WORKFLOW_TIMEOUT_SECONDS}s`,
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError)
      throw new UnavailableError(
        `the Barista worker on task queue ${taskQueue}`,
        `the placement check did not finish within ${CHECK_WORKFLOW_TIMEOUT_SECONDS}s (${err.cause?.message ?? err.message})`,
      );
    throw err;
  }
}

/** A cell or cluster not `known` before whose cluster did not answer: UnavailableError naming the cluster (503). */
function refuseUnchecked(spec: AppSpec, checks: PlacementChecks, known: string[]): void {
  const unchecked = [
    ...checks.cells.flatMap((c) =>
      c.outcome === 'unchecked' && !known.includes(c.cell) ? [{ name: `cells ${c.cell}`, reason: c.reason }] : [],
    ),
    ...checks.clusters.flatMap((k) =>
      k.outcome === 'unchecked' && !known.includes(k.cluster) ? [{ name: `the cells of cluster ${k.cluster}`, reason: k.reason }] : [],
    ),
  ];
  if (!unchecked.length) return;
  const reasons = unchecked.map((u) => u.reason).join('; ');
  const clusters = namedClusters(reasons);
  throw new UnavailableError(
    clusters.length ? `cluster ${clusters.join(', ')}` : `the clusters of tenant ${spec.tenant}`,
    `${unchecked.map((u) => u.name).join(', ')} could not be checked within ${CHECK_CELLS_DEADLINE_SECONDS}s: ${reasons}`,
  );
}

/**
 * One issue per unknown or foreign cell and per unknown or empty cluster, naming its place in the placement; a
 * cell named both itself and through its cluster; overrides for cells or clusters outside the placement (known
 * only once the clusters answered).
 */
export function placementIssues(
  spec: Pick<AppSpec, 'tenant' | 'placement'> & Partial<Pick<AppSpec, 'overrides' | 'clusterOverrides'>>,
  checks: CellCheck[] | PlacementChecks,
): FieldIssue[] {
  const { cells, clusters } = Array.isArray(checks) ? { cells: checks, clusters: [] } : checks;
  const issues: FieldIssue[] = [];
  const cellsOf = new Map(clusters.flatMap((k) => (k.outcome === 'found' ? [[k.cluster, k.cells] as const] : [])));
  spec.placement.cells.forEach((cell, i) => {
    const check = cells.find((c) => c.cell === cell);
    const field = `placement.cells[${i}]`;
    if (check?.outcome === 'unknown') issues.push({ field, message: `cell ${cell} does not exist in any cluster` });
    if (check?.outcome === 'foreign') issues.push({ field, message: `cell ${cell} belongs to another tenant than ${spec.tenant}` });
    const via = [...cellsOf].find(([, list]) => list.includes(cell))?.[0];
    if (via) issues.push({ field, message: `cell ${cell} is in cluster ${via}, which placement.clusters names already: name it once` });
  });
  (spec.placement.clusters ?? []).forEach((cluster, i) => {
    const check = clusters.find((k) => k.cluster === cluster);
    const field = `placement.clusters[${i}]`;
    if (check?.outcome === 'unknown') issues.push({ field, message: `cluster ${cluster} is not a cluster Barista knows` });
    if (check?.outcome === 'empty') issues.push({ field, message: `cluster ${cluster} has no cells of tenant ${spec.tenant}` });
  });
  // overrides: checkable once every cell and cluster answered
  const answered = [...cells, ...clusters].every((c) => c.outcome === 'found');
  if (!answered) return issues;
  const placed = new Set([...spec.placement.cells, ...[...cellsOf.values()].flat()]);
  const clusterOf = new Map<string, string>();
  for (const c of cells) if (c.outcome === 'found') clusterOf.set(c.cell, c.cluster);
  for (const [cluster, list] of cellsOf) for (const cell of list) clusterOf.set(cell, cluster);
  for (const cell of Object.keys(spec.overrides ?? {}))
    if (!placed.has(cell))
      issues.push({ field: `overrides.${cell}`, message: `cell ${cell} is not in the placement: overrides apply to placement cells only` });
  const placedClusters = new Set(clusterOf.values());
  for (const cluster of Object.keys(spec.clusterOverrides ?? {}))
    if (!placedClusters.has(cluster))
      issues.push({
        field: `clusterOverrides.${cluster}`,
        message: `cluster ${cluster} holds no cell of the placement (${[...placedClusters].sort().join(', ')})`,
      });
  return issues;
}
