import { ApplicationFailure, condition, getExternalWorkflowHandle } from '@temporalio/workflow';
import {
  DomainError,
  planRelease,
  type AppSpec,
  type PlannedGroup,
  type ReleasePlan,
  type ReleaseRequest,
  type Revision,
} from '../domain/index.js';
import { FailureTypes } from '../domain/failures.js';
import { budgeted } from './activity-proxies.js';
import { untilDoneOrPaused } from './cluster-steps.js';
import { appEntityId } from './app-entity.js';
import { releaseCompletedSignal } from './definitions.js';
import { wireOperatorActions } from './release-actions.js';
import { runGate } from './release-gates.js';
import { releasePods } from './release-pods.js';
import { ReleaseTracker } from './release-state.js';
import type { ReleaseStatus } from './release-status.js';

export interface AppReleaseInput {
  request: ReleaseRequest;
  app: AppSpec;
  namespace: string;
  from?: Revision;
  to: Revision;
}

/** Workflow id of the one release of (tenant, app) that may be in flight. */
export function appReleaseId(tenant: string, app: string): string {
  return `release/${tenant}/${app}`;
}

/**
 * AppRelease: plans groups over placement ∩ mask, then runs group → gate → group …; every pod goes through
 * the per-pod protocol. Operators steer it with signals (approve, pause, resume, abort, rollback,
 * promote-all, skip-pod); `status` tells everything.
 */
export async function appRelease(input: AppReleaseInput): Promise<ReleaseStatus> {
  const { request, app, to, from } = input;
  const t = new ReleaseTracker(app.name, app.tenant, from?.number, to.number);
  wireOperatorActions(t);
  t.record(
    request.requestedBy,
    'requested',
    `revision ${from?.number ?? '-'} → ${to.number}${request.reason ? `: ${request.reason}` : ''}`,
  );

  const budget = budgeted(request.strategy.podTimeoutSeconds);
  const cellsToCluster = await untilDoneOrPaused(t, 'resolve-cells', () =>
    budget.resolveCells({ tenant: app.tenant, workspace: app.workspace, cells: app.placement.cells }),
  );
  if (!cellsToCluster) return stoppedBeforePlanning(t);
  const plan = planOrFail(input, cellsToCluster);
  t.setPlan(plan);
  t.phase('running');

  for (const group of plan.groups) {
    await condition(() => !t.paused || t.stopRequested);
    if (t.stopRequested) break;
    t.currentGroup = group.index;
    t.phase('running');
    await untilDoneOrPaused(t, 'workload', () => ensureWorkloads(plan, group, to, budget));
    if (t.stopRequested) break;
    await releasePods(t, plan, group.pods, to, { stop: () => t.stopRequested, rollingBack: false });
    if (t.stopRequested || group === plan.groups[plan.groups.length - 1]) break;
    await runGate(t, plan, group);
  }

  if (t.rollbackRequested && from) {
    await rollBack(t, plan, from);
  } else if (t.abortRequested) {
    t.phase('aborted');
    t.record(t.abortRequested.by, 'finished', `aborted; changed pods: ${t.status().changedPods.join(', ') || 'none'}`);
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
  return t.status();
}

function planOrFail(input: AppReleaseInput, cellsToCluster: Record<string, string>): ReleasePlan {
  try {
    return planRelease({
      app: input.app,
      namespace: input.namespace,
      from: input.from,
      to: input.to,
      request: input.request,
      clusterOf: (cell) => cellsToCluster[cell],
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
  activities: ReturnType<typeof budgeted>,
): Promise<void> {
  const cells = [...new Set(group.pods.map((p) => p.cell))];
  await Promise.all(cells.map((cell) => activities.ensureWorkload({ ...workloadRef(plan, cell), revision })));
}

/** Aborted (or asked to roll back) while resolving cells: nothing was changed. */
function stoppedBeforePlanning(t: ReleaseTracker): ReleaseStatus {
  const by = t.abortRequested?.by ?? t.rollbackRequested?.by ?? 'unknown';
  t.paused = undefined;
  t.phase('aborted');
  t.record(by, 'finished', 'stopped before any cell was resolved; nothing changed');
  t.finishedAt = new Date().toISOString();
  return t.status();
}

function workloadRef(plan: ReleasePlan, cell: string) {
  const cluster = plan.cells.find((c) => c.cell === cell)!.cluster;
  return { cluster, namespace: plan.app.namespace, app: plan.app.name, tenant: plan.app.tenant, workspace: plan.app.workspace, cell };
}

/** Takes every pod this release touched back to `from`, through the same per-pod protocol, last group first. */
async function rollBack(t: ReleaseTracker, plan: ReleasePlan, from: Revision): Promise<void> {
  const by = t.rollbackRequested?.by ?? 'barista';
  t.paused = undefined;
  t.phase('rolling-back');
  t.record(by, 'rollback-started', `to revision ${from.number}${t.rollbackRequested?.reason ? `: ${t.rollbackRequested.reason}` : ''}`);
  const touched = [...plan.groups]
    .reverse()
    .flatMap((g) => g.pods)
    .filter((p) => {
      const s = t.pod(p.name);
      return s.changed || s.state === 'in-progress' || s.state === 'failed';
    });
  // a failing cluster pauses the rollback too (resume retries); only an abort stops it
  const budget = budgeted(plan.strategy.podTimeoutSeconds);
  for (const cell of new Set(plan.cells.map((c) => c.cell)))
    await untilDoneOrPaused(
      t,
      'workload',
      () => budget.ensureWorkload({ ...workloadRef(plan, cell), revision: from }),
      () => t.abortRequested !== undefined,
    );
  await releasePods(t, plan, touched, from, { stop: () => t.abortRequested !== undefined, rollingBack: true });
  t.phase(t.abortRequested ? 'aborted' : 'rolled-back');
  t.record('barista', 'finished', `rolled back ${touched.length} pods to revision ${from.number}`);
}
