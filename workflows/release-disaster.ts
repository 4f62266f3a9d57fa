import { CancellationScope, condition, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { PROBE_INTERVAL_MS, PROBES_TO_LOSE, type ClusterProbe } from '../domain/reachability.js';
import type { AppSpec, PodRef, ReleasePlan } from '../domain/index.js';
import { NON_RETRYABLE } from './activity-proxies.js';
import type { ReleaseTracker } from './release-state.js';

/**
 * Disaster mode (docs/multi-cluster.md): a release that skips what it cannot reach. Before each group it probes
 * the group's clusters; while the group runs it keeps probing them. A cluster that does not answer is lost for
 * the rest of the release: its cells that still owe pods go into the ledger (ReleaseTracker.loseCluster), its
 * pods not started are skipped and those in flight given up as `unknown`; nothing more is sent to it, and
 * nothing in it is deleted, scaled or rescheduled. A catch-up release finishes the ledger's cells later.
 */

/** One probe per cluster, each within PROBE_TIMEOUT_MS (activities/probe-clusters.ts); the worker's failures retried. */
const { probeClusters } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3 },
});
/** Probes until a cluster is lost, for as long as a group runs: heartbeats, and runs on (retried) after a worker dies. */
const { awaitClusterLost } = proxyActivities<Activities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** Where the cells are, each cluster given its request deadline once: a cluster that does not answer is not waited for. */
const { resolveReachableCells } = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Disaster mode's cell resolution. A cell that cannot be located because clusters do not answer is given to
 * that cluster (to "kc6 or kc7" when several fail: which one holds it, only they could say) and `lost` names it:
 * once planned, the release loses it at once (ReleaseTracker.loseCluster), and the cell goes into the ledger.
 */
export async function resolveCellsOrSkip(
  app: AppSpec,
): Promise<{ cellsToCluster: Record<string, string>; lost?: { cluster: string; reason: string } }> {
  const { cells, unlocated } = await resolveReachableCells({ tenant: app.tenant, workspace: app.workspace, cells: app.placement.cells });
  if (!unlocated) return { cellsToCluster: cells };
  const cluster = unlocated.clusters.join(' or ');
  const located = Object.fromEntries(unlocated.cells.map((cell) => [cell, cluster]));
  return {
    cellsToCluster: { ...cells, ...located },
    lost: { cluster, reason: `cells ${unlocated.cells.join(', ')} could not be located: ${unlocated.reason}` },
  };
}

export function clustersOf(plan: ReleasePlan, pods: PodRef[]): string[] {
  const cells = new Set(pods.map((p) => p.cell));
  return [...new Set(plan.cells.filter((c) => cells.has(c.cell)).map((c) => c.cluster))].sort();
}

/**
 * Before a group: probes its clusters not lost yet, and loses those that fail PROBES_TO_LOSE probes in a row,
 * PROBE_INTERVAL_MS apart (as while a group runs): one slow answer does not skip a cluster's cells.
 */
export async function skipUnreachableClusters(t: ReleaseTracker, plan: ReleasePlan, pods: PodRef[]): Promise<void> {
  let suspects = clustersOf(plan, pods).filter((c) => !t.lostClusters.has(c));
  let failed: ClusterProbe[] = [];
  for (let round = 0; round < PROBES_TO_LOSE && suspects.length > 0; round++) {
    if (round > 0) await sleep(PROBE_INTERVAL_MS);
    failed = (await probeClusters({ clusters: suspects })).filter((p) => !p.reachable);
    suspects = failed.map((p) => p.cluster);
  }
  for (const probe of failed) if (!probe.reachable) t.loseCluster(probe.cluster, probe.reason);
}

/** Runs `step` (a group's workloads and pods) while probing their clusters; a cluster lost meanwhile is skipped. */
export async function whileWatchingClusters<T>(t: ReleaseTracker, plan: ReleasePlan, pods: PodRef[], step: () => Promise<T>): Promise<T> {
  const scope = new CancellationScope();
  // a failure of the probes (other than being cancelled) is kept and thrown once the step is over: never left
  // as an unhandled rejection meanwhile
  let failure: unknown;
  const watching = scope
    .run(async () => {
      for (;;) {
        const clusters = clustersOf(plan, pods).filter((c) => !t.lostClusters.has(c));
        if (clusters.length === 0) return;
        const lost = await awaitClusterLost({ clusters });
        t.loseCluster(lost.cluster, lost.reason);
      }
    })
    .catch((err: unknown) => {
      if (!isCancellation(err)) failure = err;
    });
  try {
    return await step();
  } finally {
    scope.cancel();
    await watching;
    if (failure) throw failure; // eslint-disable-line no-unsafe-finally
  }
}

/**
 * `step` for one cell (ensuring its workload), given up if the cell goes into the ledger meanwhile: its cluster
 * does not answer, and waiting for it would hold the release.
 */
export async function unlessCellSkipped(t: ReleaseTracker, cell: string, step: () => Promise<unknown>): Promise<void> {
  if (t.inLedger(cell)) return;
  const scope = new CancellationScope();
  let settled = false;
  const running = scope.run(step).finally(() => (settled = true));
  await condition(() => settled || t.inLedger(cell));
  if (settled) {
    await running;
    return;
  }
  scope.cancel();
  await running.catch(() => undefined); // cancelled, as asked
}
