import { TimeoutFailure, TimeoutType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { PROBE_INTERVAL_MS, PROBES_TO_LOSE, type ClusterProbe } from '../domain/reachability.js';
import type { AppSpec, PodRef, ReleasePlan } from '../domain/index.js';
import { agentNotPollingReason, agentQueueOf, clusterTaskQueue, type ClusterRoutes } from '../domain/cluster-queues.js';
import { NON_RETRYABLE } from './activity-proxies.js';
import { forCluster } from './cluster-routing.js';
import { askAgents } from './locate-cells.js';
import type { ReleaseTracker } from './release-state.js';
import { FailureTypes } from '../domain/failures.js';

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
  routes?: ClusterRoutes,
): Promise<{ cellsToCluster: Record<string, string>; lost?: { cluster: string; reason: string } }> {
  const agents = routes?.agentServed ?? [];
  const input = { tenant: app.tenant, workspace: app.workspace, cells: app.placement.cells };
  const { cells, unlocated } = await resolveReachableCells(agents.length ? { ...input, elsewhere: agents } : input);
  if (!unlocated) return { cellsToCluster: cells };
  let missing = unlocated.cells;
  const silentClusters = [...unlocated.clusters];
  const reasons = unlocated.reason ? [unlocated.reason] : [];
  const found = { ...cells };
  if (agents.length) {
    // the cells the central worker could not see may be in agent-served clusters: their agents say (issue #16)
    const perCluster = (cluster: string) => forCluster(routes, cluster).budgeted(AGENT_PROBE_PICKUP_SECONDS * 2);
    const { answers, silent } = await askAgents(agents, perCluster, app.tenant, missing);
    for (const a of answers) for (const cell of a.mine) if (missing.includes(cell)) found[cell] = a.cluster;
    const foreign = answers.flatMap((a) => a.foreign).filter((c) => missing.includes(c) && !found[c]);
    if (foreign.length)
      throw ApplicationFailure.nonRetryable(
        `cells ${foreign.join(', ')} belong to another tenant than ${app.tenant}`,
        FailureTypes.forbidden,
      );
    missing = missing.filter((c) => !found[c]);
    for (const { cluster, failure } of silent) {
      silentClusters.push(cluster);
      reasons.push(failure.message);
    }
    if (missing.length && !silentClusters.length)
      throw ApplicationFailure.nonRetryable(
        `cells ${missing.join(', ')} are not known in any cluster (the central worker's, or agent-served ${agents.join(', ')})`,
        FailureTypes.unknownCell,
      );
    if (!missing.length) return { cellsToCluster: found };
  }
  const cluster = [...new Set(silentClusters)].sort().join(' or ');
  const located = Object.fromEntries(missing.map((cell) => [cell, cluster]));
  return {
    cellsToCluster: { ...found, ...located },
    lost: { cluster, reason: `cells ${missing.join(', ')} could not be located: ${reasons.join('; ')}` },
  };
}

/**
 * An agent-served cluster is probed by its agent (its own GET /version, from inside): an agent that does not take
 * the probe within this long is the cluster unreachable, exactly as a cluster that does not answer (issue #16).
 */
export const AGENT_PROBE_PICKUP_SECONDS = 5;

function agentProbes(cluster: string) {
  return proxyActivities<Activities>({
    taskQueue: clusterTaskQueue(cluster),
    scheduleToStartTimeout: `${AGENT_PROBE_PICKUP_SECONDS}s`,
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 1 },
  });
}

/** The agent's watch of its cluster while a group runs: an agent that stops heartbeating it is the cluster lost. */
function agentWatch(cluster: string) {
  return proxyActivities<Activities>({
    taskQueue: clusterTaskQueue(cluster),
    scheduleToStartTimeout: `${AGENT_PROBE_PICKUP_SECONDS}s`,
    startToCloseTimeout: '1h',
    heartbeatTimeout: '15s',
    retry: { maximumAttempts: 1 },
  });
}

/** Why an agent-served cluster counts as unreachable when its agent's probe or watch failed. */
function agentSilent(cluster: string, err: unknown): ClusterProbe & { reachable: false } {
  const timeout = err instanceof ActivityFailure && err.cause instanceof TimeoutFailure ? err.cause.timeoutType : undefined;
  const reason =
    timeout === TimeoutType.SCHEDULE_TO_START
      ? agentNotPollingReason(cluster, AGENT_PROBE_PICKUP_SECONDS)
      : timeout === TimeoutType.HEARTBEAT
        ? `cluster ${cluster}'s agent stopped answering (its watch of the cluster missed its heartbeats)`
        : `cluster ${cluster} unreachable: ${err instanceof ActivityFailure && err.cause ? err.cause.message : String(err)}`;
  return { cluster, reachable: false, reason };
}

/** One probe of each cluster: the direct ones by the central worker (one call, as before), the others by their agents. */
async function probeAll(routes: ClusterRoutes | undefined, clusters: string[]): Promise<ClusterProbe[]> {
  const agents = clusters.filter((c) => agentQueueOf(routes, c) !== undefined);
  if (!agents.length) return probeClusters({ clusters });
  const direct = clusters.filter((c) => !agents.includes(c));
  const [central, viaAgents] = await Promise.all([
    direct.length ? probeClusters({ clusters: direct }) : Promise.resolve([]),
    Promise.all(
      agents.map(async (cluster) => {
        try {
          return (await agentProbes(cluster).probeClusters({ clusters: [cluster] }))[0]!;
        } catch (err) {
          if (isCancellation(err)) throw err;
          return agentSilent(cluster, err);
        }
      }),
    ),
  ]);
  return [...central, ...viaAgents];
}

/** Until one of `clusters` is lost: the direct ones watched centrally (one call, as before), each agent-served one by its agent. */
async function awaitAnyLost(routes: ClusterRoutes | undefined, clusters: string[]): Promise<ClusterProbe & { reachable: false }> {
  const agents = clusters.filter((c) => agentQueueOf(routes, c) !== undefined);
  if (!agents.length) return awaitClusterLost({ clusters });
  const direct = clusters.filter((c) => !agents.includes(c));
  const scope = new CancellationScope();
  try {
    return await scope.run(() =>
      Promise.race([
        ...(direct.length ? [awaitClusterLost({ clusters: direct })] : []),
        ...agents.map((cluster) =>
          agentWatch(cluster)
            .awaitClusterLost({ clusters: [cluster] })
            .catch((err: unknown) => {
              if (isCancellation(err)) throw err;
              return agentSilent(cluster, err);
            }),
        ),
      ]),
    );
  } finally {
    scope.cancel(); // the other watches: the caller starts new ones for the clusters left
  }
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
    failed = (await probeAll(t.routes, suspects)).filter((p) => !p.reachable);
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
        const lost = await awaitAnyLost(t.routes, clusters);
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
