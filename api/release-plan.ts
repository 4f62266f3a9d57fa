import type { Client } from '@temporalio/client';
import {
  checkTargetMark,
  describeMark,
  DomainError,
  namespaceOf,
  namesClusters,
  planReleaseRun,
  previewRun,
  type PlanPreview,
  type ReleaseRequest,
  type Revision,
} from '../domain/index.js';
import type { AppReleaseInput } from '../workflows/app-release.js';
import type { AppRecord } from '../workflows/definitions.js';
import { locatePlacement, type Unanswered } from './app-placement.js';

/** What planning needs of the release client: Temporal (to ask the worker where cells are) and the App's record. */
export interface PlanningDeps {
  client: Client;
  taskQueue: string;
  getApp(tenant: string, app: string): Promise<AppRecord | undefined>;
}

/** A request planned as its release will plan it: the workflow's input, and the preview of the plan (dry run only). */
export interface PlannedRequest {
  input: AppReleaseInput;
  preview?: PlanPreview;
}

/**
 * Plans a release request the way a start does, and the way the release workflow will (domain/release-run.ts with
 * the App as registered now, its target and previous revision, the cells located): every refusal (unknown app or
 * revision, a mask outside the placement, an empty scope, a strategy these pods cannot honour) is a DomainError
 * naming the field, and nothing is started.
 *
 * `start`: the cells are located only when the placement or mask names clusters (the workflow locates them itself
 * when it runs; a start does not wait for every cluster). `preview` (dry run): the cells are always located, so the
 * plan shows each cell's cluster and cluster overrides; what does not answer is told in the notices, not refused.
 */
export async function planRequest(deps: PlanningDeps, request: ReleaseRequest, purpose: 'start' | 'preview'): Promise<PlannedRequest> {
  const record = await deps.getApp(request.tenant, request.app);
  if (!record)
    throw new DomainError('NOT_FOUND', `app ${request.tenant}/${request.app} is not registered`, [
      { field: 'app', message: 'unknown app' },
    ]);
  const revisionNumber = request.revision ?? record.latest;
  const to = record.revisions.find((r) => r.number === revisionNumber);
  if (!to)
    throw DomainError.invalid([
      {
        field: 'revision',
        message: `revision ${revisionNumber} does not exist; kept revisions: ${record.revisions.map((r) => r.number).join(', ')}`,
      },
    ]);
  // a plain release never ships a revision marked bad; one named explicitly goes, and says so in its trail
  const targetMarkedBad = checkTargetMark({
    app: `${request.tenant}/${request.app}`,
    marks: record.marks,
    target: to.number,
    explicit: request.revision !== undefined,
    kept: record.revisions.map((r) => r.number),
  });
  const from = previousRevision(record, to);
  const namespace = namespaceOf(record.spec);
  const input: AppReleaseInput = {
    request,
    app: record.spec,
    namespace,
    to,
    ...(from ? { from } : {}),
    ...(targetMarkedBad ? { targetMarkedBad } : {}),
  };
  const plan = (app: AppReleaseInput['app'], clusterOf: (cell: string) => string | undefined) =>
    planReleaseRun({ app, namespace, from, to, request, clusterOf, planner: 'exact' });
  if (purpose === 'start' && !namesClusters(record.spec.placement, request.mask)) {
    // refuses bad strategies and masks before anything starts; the release resolves the cells when it runs
    plan(record.spec, () => 'unresolved');
    return { input };
  }
  const where = await locatePlacement(deps.client, deps.taskQueue, record.spec, {
    unanswered: purpose === 'preview' ? 'report' : 'refuse',
  });
  const app = { ...record.spec, placement: { ...record.spec.placement, cells: where.cells } };
  const run = plan(app, (cell) => where.clusterOf[cell]);
  if (purpose === 'start') return { input };
  const notices = [
    ...(targetMarkedBad ? [`released although ${describeMark(to.number, targetMarkedBad)} (asked for explicitly)`] : []),
    ...unansweredNotices(where.unanswered, request.mode),
  ];
  return { input, preview: previewRun(run, { from, to }, request, notices) };
}

/** What a release started now would do about the cells and clusters that did not answer the dry run. */
function unansweredNotices(unanswered: Unanswered[], mode: ReleaseRequest['mode']): string[] {
  return unanswered.map((u) =>
    u.cell
      ? `cell ${u.cell} could not be located (${u.reason}): ` +
        (mode === 'disaster'
          ? `disaster mode skips it into the ledger, its pods in the groups below are not released`
          : `a release started now pauses at step resolve-cells until ${u.cluster} answers`)
      : `cluster ${u.cluster} did not answer (${u.reason}): its cells are not in this plan; a release started now pauses at step resolve-placement until it answers`,
  );
}

/** The revision the cells run before this release: the latest one released, else none (first release). */
export function previousRevision(record: AppRecord, to: Revision): Revision | undefined {
  const released = Object.values(record.released);
  const current = released.length ? Math.max(...released) : undefined;
  if (current === undefined || current === to.number) return record.revisions.filter((r) => r.number < to.number).at(-1) ?? undefined;
  return record.revisions.find((r) => r.number === current);
}
