import type { V1Node } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../domain/failures.js';
import { CELL_LABEL_KEY, NODE_TENANT_LABEL } from './cell-label.js';
import type { Clusters } from './clusters.js';
import { withKubeSignal } from '../worker/kube/deadlines.js';
import { ClusterUnavailable } from '../worker/kube/errors.js';
import { rethrowKubeError } from './kube-errors.js';
import type { ResolveCellsInput } from './types.js';

/**
 * Finds the cluster of each cell from node labels. A cell no cluster knows, or one that belongs to
 * another tenant, fails fast: a release must never touch another tenant's cells. An unreachable cluster
 * matters only when a cell is missing: then the cell may be there, so the attempt fails to be retried.
 * Clusters are asked in parallel, each list with its request deadline (a hung cluster is an unreachable one);
 * the answer comes as soon as every cell is found, without waiting for clusters that do not answer.
 */
export function createResolveCells(clusters: Clusters) {
  return async function resolveCells(input: ResolveCellsInput): Promise<Record<string, string>> {
    const { found, missing, unreachable } = await locateCells(clusters, input);
    // a missing cell may be in a cluster that did not answer: retried. One in an agent-served cluster is asked there
    if (missing.length && unreachable.length)
      throw new Error(`cells ${missing.join(', ')} not found while clusters fail: ${unreachable.map((u) => u.message).join('; ')}`);
    return found;
  };
}

/** Where the reachable cells are, and which cells could not be located because clusters did not answer. */
export interface ReachableCells {
  cells: Record<string, string>;
  /** Cells not found while clusters failed: they may be in one of `clusters`. */
  unlocated?: { cells: string[]; clusters: string[]; reason: string };
}

/**
 * Disaster mode's resolveCells: the same checks (another tenant's cell, a cell no cluster knows: refused), but a
 * cell that may be in a cluster that does not answer is reported, not retried: the release skips it.
 */
export function createResolveReachableCells(clusters: Clusters) {
  return async function resolveReachableCells(input: ResolveCellsInput): Promise<ReachableCells> {
    const { found, missing, unreachable } = await locateCells(clusters, input);
    if (!missing.length) return { cells: found };
    return {
      cells: found,
      unlocated: { cells: missing, clusters: unreachable.map((u) => u.cluster), reason: unreachable.map((u) => u.message).join('; ') },
    };
  };
}

/**
 * Lists the nodes of the cells in every cluster. Throws for a cell of another tenant and, when every cluster
 * answered, for a cell no cluster knows; returns the cells found, those missing, and the clusters that failed.
 */
async function locateCells(
  clusters: Clusters,
  input: ResolveCellsInput,
): Promise<{ found: Record<string, string>; missing: string[]; unreachable: { cluster: string; message: string }[] }> {
  const found: Record<string, string> = {};
  const foreign: string[] = [];
  const unreachable: { cluster: string; message: string }[] = [];
  // every cluster at once, each list with its request deadline; done as soon as every cell is found for the
  // tenant (a hung cluster then costs nothing), else once every cluster has answered or failed
  const allFound = new AbortController();
  const budgetEnds = reportBy();
  const lists = clusters.names().map((name) =>
    withKubeSignal(AbortSignal.any([allFound.signal, givenUpAt(name, budgetEnds)]), () =>
      listNodesOfCells(clusters, name, input.cells),
    ).then((listed) => {
      if ('unreachable' in listed) return unreachable.push({ cluster: name, message: listed.unreachable });
      for (const node of listed.nodes) {
        const cell = node.metadata?.labels?.[CELL_LABEL_KEY];
        if (!cell) continue;
        if (node.metadata?.labels?.[NODE_TENANT_LABEL] !== input.tenant) foreign.push(cell);
        else found[cell] = name;
      }
      if (input.cells.every((c) => found[c])) allFound.abort();
    }),
  );
  const everyList = Promise.all(lists);
  everyList.catch(() => undefined); // lists still running when every cell is found end by themselves
  await Promise.race([everyList, new Promise((resolve) => allFound.signal.addEventListener('abort', resolve))]);
  allFound.abort();
  const forbidden = [...new Set(foreign)].filter((c) => !found[c]);
  if (forbidden.length)
    throw ApplicationFailure.nonRetryable(
      `cells ${forbidden.join(', ')} belong to another tenant than ${input.tenant}`,
      FailureTypes.forbidden,
    );
  const missing = input.cells.filter((c) => !found[c]);
  if (missing.length && !unreachable.length && !input.elsewhere?.length)
    throw ApplicationFailure.nonRetryable(
      `cells ${missing.join(', ')} are not known in any cluster (known clusters: ${clusters.names().join(', ')})`,
      FailureTypes.unknownCell,
    );
  return { found, missing, unreachable: unreachable.sort((a, b) => a.cluster.localeCompare(b.cluster)) };
}

/**
 * Leaves this much of the activity's budget (its schedule-to-close timeout) to fail with the clusters that did not
 * answer: Temporal's own timeout, firing during an attempt, would pause the release without naming them.
 */
const REPORT_MARGIN_MS = 1_000;

/** When this attempt must have its answer, or undefined without a budget (outside an activity). */
function reportBy(): number | undefined {
  try {
    const { scheduledTimestampMs, scheduleToCloseTimeoutMs } = Context.current().info;
    return scheduleToCloseTimeoutMs ? scheduledTimestampMs + scheduleToCloseTimeoutMs - REPORT_MARGIN_MS : undefined;
  } catch {
    return undefined;
  }
}

/** Aborts when the budget is about to end, as the cluster not answering (never before one second from now). */
function givenUpAt(cluster: string, end: number | undefined): AbortSignal {
  const controller = new AbortController();
  if (end === undefined) return controller.signal;
  const left = Math.max(1_000, end - Date.now());
  const reason = new ClusterUnavailable(cluster, 'not-answering', `no answer to listing its nodes within ${Math.round(left / 1000)}s`);
  setTimeout(() => controller.abort(reason), left).unref();
  return controller.signal;
}

/** The nodes of `cells` in one cluster, or why the cluster could not say. Forbidden or invalid: thrown, not transient. */
async function listNodesOfCells(clusters: Clusters, name: string, cells: string[]): Promise<{ nodes: V1Node[] } | { unreachable: string }> {
  try {
    return { nodes: (await clusters.get(name).core.listNode({ labelSelector: `${CELL_LABEL_KEY} in (${cells.join(',')})` })).items };
  } catch (err) {
    try {
      return rethrowKubeError(err, `listing nodes of cluster ${name}`);
    } catch (classified) {
      if (classified instanceof ApplicationFailure) throw classified;
      // ClusterUnavailable names the cluster itself ("cluster kc2: no answer to GET /api/v1/nodes within 10s")
      const message = (classified as Error).message;
      return { unreachable: classified instanceof ClusterUnavailable ? message : `cluster ${name}: ${message}` };
    }
  }
}
