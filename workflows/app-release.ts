import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import {
  DomainError,
  placedCells,
  planReleaseRun,
  type AppSpec,
  type PlannedGroup,
  type ReleasePlan,
  type ReleaseRequest,
  type ReleaseRun,
  type Revision,
  type RevisionMark,
  describeMark,
  revisionFor,
} from '../domain/index.js';
import { FailureTypes } from '../domain/failures.js';
import { replicasThrough } from '../domain/first-release.js';
import { awaitDriftYield, budgeted, clusterRoutes } from './activity-proxies.js';
import { forCluster } from './cluster-routing.js';
import type { Activities } from '../activities/index.js';
import { untilDoneOrPaused } from './cluster-steps.js';
import { appEntityId } from './app-entity.js';
import { releaseCompletedSignal } from './definitions.js';
import { wireOperatorActions } from './release-actions.js';
import { runGate } from './release-gates.js';
import { releaseInBatches, wireBatchFailures } from './release-batches.js';
import { releasePods } from './release-pods.js';
import { cellsOfClustersRouted, resolveCellsRouted } from './locate-cells.js';
import { resolveCellsOrSkip, skipUnreachableClusters, unlessCellSkipped, whileWatchingClusters } from './release-disaster.js';
import { ReleaseTracker } from './release-state.js';
import { AuditOutbox } from './audit-outbox.js';
import { respectChangeWindows } from './change-windows.js';
import { wireNotifications } from './release-notifications.js';
import type { ReleaseStatus } from './release-status.js';

export interface AppReleaseInput {
  request: ReleaseRequest;
  /** The ticket that started this release, if one did (its audit entries name it). */
  ticket?: string;
  app: AppSpec;
  namespace: string;
  from?: Revision;
  to: Revision;
  /** The target's bad mark, when the request named a revision marked bad (the operator's choice; recorded). */
  targetMarkedBad?: RevisionMark;
}

/** Workflow id of the one release of (tenant, app) that may be in flight. */
export function appReleaseId(tenant: string, app: string): string {
  return `release/${tenant}/${app}`;
}

/**
 * AppRelease: plans groups over placement ∩ mask, then runs group → gate → group …; every pod goes through
 * the per-pod protocol. Operators steer it with Updates and signals (approve, pause, resume, abort, rollback,
 * promote-all, skip-pod); `status` tells everything. Every end is a state: succeeded, aborted, rolled back,
 * or failed (recorded before the workflow fails).
 */
export async function appRelease(input: AppReleaseInput): Promise<ReleaseStatus> {
  const { app, to, from } = input;
  const t = new ReleaseTracker(app.name, app.tenant, from?.number, to.number);
  // v2: every audit entry also goes to the durable audit record (PostgreSQL), in the background
  const outbox = patched('durable-audit')
    ? new AuditOutbox({ tenant: app.tenant, kind: 'release', app: app.name, ...(input.ticket ? { ticket: input.ticket } : {}) })
    : undefined;
  if (outbox) {
    t.onRecord = (entry) => outbox.add(entry);
    outbox.start();
  }
  // v3: the tenant's webhooks hear when a gate needs an approval, the release pauses or ends (docs/notifications.md)
  const notifier = patched('notifications') ? wireNotifications(t, input.ticket ? { ticket: input.ticket } : {}) : undefined;
  wireOperatorActions(t);
  wireBatchFailures(t);
  try {
    const result = await runRelease(t, input);
    if (notifier) await notifier.sent();
    await outbox?.flush();
    return result;
  } catch (err) {
    // v2: a failure ends in a state (status, lists, BaristaState, metrics say failed) before the workflow fails
    // (a cancelled run is shown as cancelled from Temporal's own status: api/release-states.ts)
    if (!isCancellation(err) && patched('failed-state')) endFailed(t, err);
    if (!isCancellation(err) && notifier) await notifier.sent();
    if (!isCancellation(err)) await outbox?.flush();
    throw err;
  }
}

async function runRelease(t: ReleaseTracker, requested: AppReleaseInput): Promise<ReleaseStatus> {
  const { request } = requested;
  t.record(
    request.requestedBy,
    'requested',
    `revision ${requested.from?.number ?? '-'} → ${requested.to.number}${request.reason ? `: ${request.reason}` : ''}`,
  );
  // inputs made before revision marks have no targetMarkedBad: their histories replay unchanged without a patch
  if (requested.targetMarkedBad)
    t.record(request.requestedBy, 'target-marked-bad', `released although ${describeMark(requested.to.number, requested.targetMarkedBad)}`);

  const budget = budgeted(request.strategy.podTimeoutSeconds);
  // v2: a drift repair running over this App stops before the release changes anything (one App, one actor)
  if (patched('drift-yield')) await yieldDriftRepair(t, requested.app);
  // v4: steps acting on an agent-served cluster go to its agent's queue (workflows/cluster-routing.ts); the routes
  // are asked once and kept in the history. Releases started before keep every step on the central queue
  if (patched('cluster-agents')) t.routes = await clusterRoutes();
  const budgetFor = (cluster: string) => forCluster(t.routes, cluster).budgeted(request.strategy.podTimeoutSeconds);
  const app = await placedApp(t, requested.app, budget, budgetFor);
  if (!app) return stoppedBeforePlanning(t);
  const input = { ...requested, app };
  // disaster mode (a field of requests made since): cells of clusters it cannot reach go into the ledger
  const disaster = request.mode === 'disaster';
  const resolved = disaster ? await resolveCellsOrSkip(app, t.routes) : undefined;
  const cellsToCluster =
    resolved?.cellsToCluster ??
    (await untilDoneOrPaused(t, 'resolve-cells', () =>
      resolveCellsRouted(t.routes, budget, budgetFor, { tenant: app.tenant, workspace: app.workspace, cells: app.placement.cells }),
    ));
  if (!cellsToCluster) return stoppedBeforePlanning(t);
  // cell over cluster over template for both revisions (`to`, `from`), the groups, and a first release's order:
  // domain/release-run.ts, which a dry run of the API calls with the same inputs
  const { plan, to, from, firstRelease } = planOrFail(input, cellsToCluster);
  t.setPlan(plan);
  t.phase('running');
  // v2: pods move in batch child workflows (bounded histories at any size); releases started before move them here
  const movePods = patched('pod-batches') ? releaseInBatches : releasePods;
  if (disaster) t.mode = 'disaster';
  if (resolved?.lost) t.loseCluster(resolved.lost.cluster, resolved.lost.reason);

  for (const group of plan.groups) {
    await condition(() => !t.paused || t.stopRequested);
    if (t.stopRequested) break;
    t.currentGroup = group.index;
    t.phase('running');
    // v2: a group starts only outside the tenant's change windows
    if (patched('change-windows')) await respectChangeWindows(t, app.tenant);
    if (t.stopRequested) break;
    if (disaster) await skipUnreachableClusters(t, plan, group.pods);
    const pods = disaster ? group.pods.filter((p) => !t.inLedger(p.cell)) : group.pods;
    const moveGroup = async () => {
      await untilDoneOrPaused(t, 'workload', () =>
        ensureWorkloads(plan, group, to, budgetFor, firstRelease, disaster ? (cell, run) => unlessCellSkipped(t, cell, run) : undefined),
      );
      if (t.stopRequested) return;
      await movePods(t, plan, pods, to, { stop: () => t.stopRequested, rollingBack: false, group: group.index });
    };
    await (disaster ? whileWatchingClusters(t, plan, pods, moveGroup) : moveGroup());
    t.settleLedger();
    if (t.stopRequested || group === plan.groups[plan.groups.length - 1]) break;
    // a lost cluster's pods are not verified (a cell whose pods were all done before it was lost is in no ledger)
    await runGate(t, plan, disaster ? { ...group, pods: group.pods.filter((p) => !t.lostClusters.has(t.pod(p.name).cluster)) } : group);
  }

  if (t.rollbackRequested && from) {
    await rollBack(t, plan, from, movePods);
  } else if (t.abortRequested) {
    // v2: an abort ends aborted even while paused, and hands back every pod it left drained
    if (patched('abort-ends-clean')) await handBackDrainedPods(t, plan);
    t.phase('aborted');
    t.record(t.abortRequested.by, 'finished', `aborted; changed pods: ${listed(t.status().changedPods)}`);
  } else if (t.ledger.length > 0) {
    await condition(() => !t.paused || t.stopRequested);
    t.phase('succeeded-with-skips');
    const skipped = t.ledger.map((e) => `${e.cell} (${e.cluster})`).join(', ');
    t.record('barista', 'finished', `pods of ${plan.cells.length - t.ledger.length} cells at revision ${to.number}; skipped: ${skipped}`);
    await getExternalWorkflowHandle(appEntityId(app.tenant, app.name)).signal(releaseCompletedSignal, {
      revision: to.number,
      cells: plan.cells.map((c) => c.cell).filter((c) => !t.inLedger(c)),
      owed: t.ledger.map((e) => ({ cell: e.cell, cluster: e.cluster, revision: to.number, release: workflowInfo().runId })),
    });
  } else {
    await condition(() => !t.paused || t.stopRequested);
    t.phase('succeeded');
    t.record('barista', 'finished', `all ${t.pods.size} pods at revision ${to.number}`);
    await getExternalWorkflowHandle(appEntityId(app.tenant, app.name)).signal(releaseCompletedSignal, {
      revision: to.number,
      cells: plan.cells.map((c) => c.cell),
    });
  }
  if (t.paused && t.state !== 'paused') t.paused = undefined;
  t.finishedAt = new Date().toISOString();
  return t.result();
}

/** Takes the App over from a running drift repair: it finishes the pod in hand and repairs no more of this App. */
async function yieldDriftRepair(t: ReleaseTracker, app: AppSpec): Promise<void> {
  const { waitedFor, unanswered } = await awaitDriftYield({ tenant: app.tenant, app: app.name, release: workflowInfo().workflowId });
  if (waitedFor.length) t.record('barista', 'drift-repair-yielded', `waited for ${waitedFor.join(', ')}`);
  // a run whose worker is gone asks before each pod whether a release is in flight: it yields by itself
  if (unanswered?.length) t.record('barista', 'drift-repair-unanswered', `no worker took the yield request of ${unanswered.join(', ')}`);
}

/** Pod names for an audit entry: the first 20, then how many more (an entry stays small at any release size). */
function listed(names: string[]): string {
  if (!names.length) return 'none';
  return names.length <= 20 ? names.join(', ') : `${names.slice(0, 20).join(', ')} and ${names.length - 20} more`;
}

/**
 * The App with the clusters of its placement looked up: each one's cells of the tenant added to `placement.cells`
 * (and so to the plan). An App placed by cells only asks nothing. Undefined: stopped while paused on a cluster.
 */
async function placedApp(
  t: ReleaseTracker,
  app: AppSpec,
  activities: ReturnType<typeof budgeted>,
  perCluster: (cluster: string) => Pick<Activities, 'cellsInCluster'>,
): Promise<AppSpec | undefined> {
  const clusters = app.placement.clusters ?? [];
  if (!clusters.length) return app;
  const cellsOf = await untilDoneOrPaused(t, 'resolve-placement', () =>
    cellsOfClustersRouted(t.routes, activities, perCluster, { tenant: app.tenant, clusters }),
  );
  if (!cellsOf) return undefined;
  const cells = placedCells(app.placement, cellsOf);
  t.record('barista', 'placement', clusters.map((c) => `cluster ${c}: cells ${cellsOf[c]!.join(', ')}`).join('; '));
  return { ...app, placement: { ...app.placement, cells } };
}

function planOrFail(input: AppReleaseInput, cellsToCluster: Record<string, string>): ReleaseRun {
  try {
    return planReleaseRun({
      app: input.app,
      namespace: input.namespace,
      from: input.from,
      to: input.to,
      request: input.request,
      clusterOf: (cell) => cellsToCluster[cell],
      // v2: exact group planning (domain/plan-groups.ts); releases started before keep the plan they had
      planner: patched('exact-plan') ? 'exact' : 'v1',
      // v2: a first release creates each cell's pods group by group, lowest ordinal first, behind the same gates
      // (asked only for a first release that planned, as before the planning moved to the domain)
      firstReleaseByGroup: () => patched('first-release-by-group'),
    });
  } catch (err) {
    if (err instanceof DomainError) throw ApplicationFailure.nonRetryable(err.message, FailureTypes.invalidInput, err.issues);
    throw err;
  }
}

/** Brings each cell's workload touched by `group` to `revision` (template, replicas) before its pods change. */
async function ensureWorkloads(
  plan: ReleasePlan,
  group: PlannedGroup,
  revision: Revision,
  /** The budgeted activities of a cluster (routed to its agent's queue, if it has one). */
  budgetFor: (cluster: string) => Pick<Activities, 'ensureWorkload'>,
  firstRelease: boolean,
  /** Runs each cell's step: disaster mode gives up a cell whose cluster is lost meanwhile. */
  around: (cell: string, step: () => Promise<unknown>) => Promise<unknown> = (_cell, step) => step(),
): Promise<void> {
  const cells = [...new Set(group.pods.map((p) => p.cell))];
  await Promise.all(
    cells.map((cell) =>
      around(cell, () => {
        const ref = workloadRef(plan, cell);
        return budgetFor(ref.cluster).ensureWorkload({
          ...ref,
          revision: revisionFor(revision, [cell]),
          // a first release grows each workload to the pods of the groups so far
          ...(firstRelease ? { replicas: replicasThrough(plan.groups, group.index, cell) } : {}),
        });
      }),
    ),
  );
}

/**
 * An aborted release gives back every pod it drained and did not finish (a pod paused mid-step): the drain
 * mark is lifted, so the gate keeper opens the pod once its containers are ready. A cluster that cannot be
 * reached within the pod budget is recorded and left; the gate keeper does not touch a drain-marked pod.
 */
async function handBackDrainedPods(t: ReleaseTracker, plan: ReleasePlan): Promise<void> {
  t.paused = undefined;
  // pods of a lost cluster are left to the catch-up: their cluster did not answer
  const left = [...t.pods.values()].filter(
    (p) => p.changed && p.state !== 'done' && p.state !== 'skipped' && !t.lostClusters.has(p.cluster),
  );
  await Promise.all(
    left.map(async (pod) => {
      const { ensurePodHandedBack } = forCluster(t.routes, pod.cluster).budgeted(plan.strategy.podTimeoutSeconds);
      try {
        await ensurePodHandedBack({ cluster: pod.cluster, namespace: plan.app.namespace, pod: pod.name, tenant: plan.app.tenant });
        t.record('barista', 'handed-back', pod.name);
      } catch (err) {
        t.record('barista', 'hand-back-failed', `${pod.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
  );
  t.paused = undefined; // a pause that arrived meanwhile does not outlive the abort
}

/** A failure the release cannot go on from (invalid input, forbidden, a bug): recorded, then the workflow fails. */
function endFailed(t: ReleaseTracker, err: unknown): void {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  const reason = cause instanceof Error ? cause.message : String(cause);
  t.paused = undefined;
  t.phase('failed');
  t.record('barista', 'finished', `failed: ${reason}`);
  t.finishedAt = new Date().toISOString();
}

/** Aborted (or asked to roll back) while resolving cells: nothing was changed. */
function stoppedBeforePlanning(t: ReleaseTracker): ReleaseStatus {
  const by = t.abortRequested?.by ?? t.rollbackRequested?.by ?? 'unknown';
  t.paused = undefined;
  t.phase('aborted');
  t.record(by, 'finished', 'stopped before any cell was resolved; nothing changed');
  t.finishedAt = new Date().toISOString();
  return t.result();
}

function workloadRef(plan: ReleasePlan, cell: string) {
  const cluster = plan.cells.find((c) => c.cell === cell)!.cluster;
  return { cluster, namespace: plan.app.namespace, app: plan.app.name, tenant: plan.app.tenant, workspace: plan.app.workspace, cell };
}

/** Takes every pod this release touched back to `from`, through the same per-pod protocol, last group first. */
async function rollBack(t: ReleaseTracker, plan: ReleasePlan, from: Revision, movePods: typeof releaseInBatches): Promise<void> {
  const by = t.rollbackRequested?.by ?? 'barista';
  t.paused = undefined;
  t.phase('rolling-back');
  t.record(by, 'rollback-started', `to revision ${from.number}${t.rollbackRequested?.reason ? `: ${t.rollbackRequested.reason}` : ''}`);
  const lastGroupFirst = [...plan.groups]
    .reverse()
    .flatMap((g) => g.pods)
    .filter((p) => {
      const s = t.pod(p.name);
      // a lost cluster is not reached: its pods are the catch-up's
      return (s.changed || s.state === 'in-progress' || s.state === 'failed') && !t.lostClusters.has(s.cluster);
    });
  // v2: highest ordinal first, as the partition lets pods pass (a recreated pod waits for those above it)
  const touched = patched('rollback-highest-first') ? [...lastGroupFirst].sort((a, b) => b.ordinal - a.ordinal) : lastGroupFirst;
  // a failing cluster pauses the rollback too (resume retries); only an abort stops it
  for (const cell of new Set(plan.cells.filter((c) => !t.lostClusters.has(c.cluster)).map((c) => c.cell)))
    await untilDoneOrPaused(
      t,
      'workload',
      () => {
        const ref = workloadRef(plan, cell);
        return forCluster(t.routes, ref.cluster)
          .budgeted(plan.strategy.podTimeoutSeconds)
          .ensureWorkload({ ...ref, revision: revisionFor(from, [cell]) });
      },
      () => t.abortRequested !== undefined,
    );
  await movePods(t, plan, touched, from, { stop: () => t.abortRequested !== undefined, rollingBack: true, group: 'rollback' });
  // v2: a rollback aborted while paused ends aborted too, and hands back what it left drained
  if (t.abortRequested && patched('abort-ends-clean')) await handBackDrainedPods(t, plan);
  t.phase(t.abortRequested ? 'aborted' : 'rolled-back');
  t.record('barista', 'finished', `rolled back ${touched.length} pods to revision ${from.number}`);
}
