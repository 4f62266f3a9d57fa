import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { DomainError } from '../domain/index.js';
import {
  DEFAULT_DRIFT_INTERVAL_SECONDS,
  driftReportQuery,
  driftRunId,
  driftScheduleId,
  type DriftFinding,
  type DriftReport,
  type DriftRunInput,
} from '../workflows/drift-definitions.js';
import { SA } from '../workflows/search-attributes.js';
import { visibilityQuery } from './release-client.js';

/** The workflow type the drift Schedule and a run by hand start (workflows/drift-repair.ts). */
const DRIFT_WORKFLOW_TYPE = 'driftRepair';
/** Bounds of a Schedule's interval: shorter would repair in a tight loop, longer leaves drift for more than a day. */
export const MIN_DRIFT_INTERVAL_SECONDS = 30;
export const MAX_DRIFT_INTERVAL_SECONDS = 86_400;
/** How long a running run may take to answer its report query (a run whose worker is gone never answers). */
const REPORT_QUERY_DEADLINE_MS = 5_000;
/** Runs a report listing reads at most. */
export const MAX_DRIFT_REPORTS = 100;

/** The tenant's drift Schedule as the API shows it. */
export interface DriftScheduleView {
  scheduleId: string;
  tenant: string;
  intervalSeconds?: number;
  paused: boolean;
  /** The Schedule's note: `paused by <who>: <why>`, `unpaused by <who>`, or Temporal's own (pause on failure). */
  note?: string;
  /** Who paused it and why, while paused by Barista (parsed from the note). */
  pausedBy?: { by: string; reason: string };
  overlap: string;
  /** The next times a run starts (none while paused). */
  nextRuns: string[];
  /** The latest runs it started, oldest first (trigger-now included). */
  recentRuns: { scheduledAt: string; takenAt: string; workflowId: string; runId: string }[];
  /** Its run in flight, if any (overlap policy skip: at most one). */
  running: { workflowId: string; runId: string }[];
  actionsTaken: number;
  skippedOverlap: number;
  createdAt: string;
  updatedAt?: string;
}

/** One drift run of a listing: its report while it runs or once it completed; a run that failed has none. */
export interface DriftRunSummary {
  workflowId: string;
  runId: string;
  /** Temporal's status: RUNNING, COMPLETED, FAILED, TERMINATED, CANCELLED, TIMED_OUT, ... */
  status: string;
  startTime: string;
  closeTime?: string;
  by?: string;
  dryRun?: boolean;
  report?: DriftReport;
  /** Why a running run has no report here (it did not answer its query in time). */
  reportError?: string;
}

export interface StartedDriftRun {
  workflowId: string;
  runId: string;
}

const PAUSE_NOTE = /^paused by (.+?): ([\s\S]*)$/;

/** The note a pause leaves on the Schedule, read back by `describeDriftSchedule`. */
export function pauseNote(by: string, reason: string): string {
  return `paused by ${by}: ${reason}`;
}

/**
 * The tenant's drift repair (docs/drift.md) seen from outside the workflow: its Temporal Schedule (created
 * idempotently, paused with who and why, triggered, its interval changed), runs started by hand, and the reports
 * of recent runs from Temporal's visibility store.
 */
export class DriftClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
  ) {}

  private handle(tenant: string): ScheduleHandle {
    return this.client.schedule.getHandle(driftScheduleId(tenant));
  }

  /**
   * The tenant's Schedule, created when absent (paused: false, overlap skip, every `intervalSeconds`); one that
   * exists is left as it is, whatever its interval, and so is one a concurrent call created first.
   */
  async ensureDriftSchedule(
    tenant: string,
    opts: { intervalSeconds?: number } = {},
  ): Promise<{ created: boolean; schedule: DriftScheduleView }> {
    const existing = await this.describeOrUndefined(tenant);
    if (existing) return { created: false, schedule: existing };
    const seconds = opts.intervalSeconds ?? DEFAULT_DRIFT_INTERVAL_SECONDS;
    checkInterval(seconds);
    const args: [DriftRunInput] = [{ tenant, by: 'schedule' }];
    let created = true;
    try {
      await this.client.schedule.create({
        scheduleId: driftScheduleId(tenant),
        spec: { intervals: [{ every: seconds * 1_000 }] },
        action: {
          type: 'startWorkflow',
          workflowType: DRIFT_WORKFLOW_TYPE,
          // Temporal appends the scheduled time: drift/<tenant>-2026-11-26T10:05:00Z
          workflowId: driftScheduleId(tenant),
          taskQueue: this.taskQueue,
          args,
          memo: { by: 'schedule' },
          typedSearchAttributes: searchAttributes(tenant),
        },
        // a run still going when the next is due: the next is skipped, never two at once
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: seconds * 1_000 },
      });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      created = false; // created meanwhile by another worker or call
    }
    return { created, schedule: await this.describeDriftSchedule(tenant) };
  }

  /** The Schedule; NOT_FOUND when the tenant has none yet. */
  async describeDriftSchedule(tenant: string): Promise<DriftScheduleView> {
    const view = await this.describeOrUndefined(tenant);
    if (!view)
      throw new DomainError(
        'NOT_FOUND',
        `tenant ${tenant} has no drift schedule: the worker creates it at start (BARISTA_DRIFT_TENANTS), ` +
          'or set its interval (PUT /v1/tenants/{tenant}/drift/schedule) to create it',
      );
    return view;
  }

  /** Pauses the Schedule with `paused by <by>: <reason>` as its note; a paused one gets the new note. */
  async pauseDriftSchedule(tenant: string, by: string, reason: string): Promise<DriftScheduleView> {
    await this.existing(tenant, (h) => h.pause(pauseNote(by, reason)));
    return this.describeDriftSchedule(tenant);
  }

  async unpauseDriftSchedule(tenant: string, by: string, reason?: string): Promise<DriftScheduleView> {
    await this.existing(tenant, (h) => h.unpause(`unpaused by ${by}${reason ? `: ${reason}` : ''}`));
    return this.describeDriftSchedule(tenant);
  }

  /**
   * Starts a run now through the Schedule (so it gets the Schedule's ids), paused or not; with the overlap policy
   * skip, a trigger while a run is in flight starts nothing.
   */
  async triggerDriftSchedule(tenant: string): Promise<DriftScheduleView> {
    await this.existing(tenant, (h) => h.trigger(ScheduleOverlapPolicy.SKIP));
    return this.describeDriftSchedule(tenant);
  }

  /** Sets the interval (the Schedule is created with it when absent); pause state and note stay as they are. */
  async setDriftInterval(tenant: string, intervalSeconds: number): Promise<{ created: boolean; schedule: DriftScheduleView }> {
    checkInterval(intervalSeconds);
    const ensured = await this.ensureDriftSchedule(tenant, { intervalSeconds });
    if (ensured.created || ensured.schedule.intervalSeconds === intervalSeconds) return ensured;
    await this.existing(tenant, (h) =>
      h.update((prev: ScheduleDescription) => ({
        ...prev,
        spec: { ...prev.spec, intervals: [{ every: intervalSeconds * 1_000 }] },
        policies: { ...prev.policies, catchupWindow: intervalSeconds * 1_000 },
      })),
    );
    return { created: false, schedule: await this.describeDriftSchedule(tenant) };
  }

  /**
   * A run by hand (optionally a dry run, optionally of some Apps). Refused (CONFLICT) while a repairing run of the
   * tenant is in flight, as far as Temporal's visibility store already shows it; a dry run changes nothing and
   * may run beside one.
   */
  async startDriftRun(tenant: string, opts: { dryRun?: boolean; apps?: string[]; by: string }): Promise<StartedDriftRun> {
    if (!opts.dryRun) {
      const running = await this.runningRun(tenant);
      if (running)
        throw new DomainError('CONFLICT', `a drift run of tenant ${tenant} is in flight (${running}); wait for it or start a dry run`, [], {
          running,
        });
    }
    const input: DriftRunInput = {
      tenant,
      by: opts.by,
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(opts.apps?.length ? { apps: opts.apps } : {}),
    };
    const workflowId = driftRunId(tenant, new Date());
    try {
      const handle = await this.client.workflow.start(DRIFT_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [input],
        memo: { by: opts.by, dryRun: opts.dryRun ?? false },
        typedSearchAttributes: searchAttributes(tenant),
      });
      return { workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new DomainError('CONFLICT', `a drift run ${workflowId} was started in the same millisecond; try again`);
      throw err;
    }
  }

  /**
   * The tenant's recent drift runs, newest first: a running one with its report so far, a completed one with its
   * result; one that failed, was terminated or timed out with its status only. With `app`, each report is
   * reduced to that App (its totals counted again over that App).
   */
  async driftReports(tenant: string, opts: { app?: string; limit?: number } = {}): Promise<DriftRunSummary[]> {
    const limit = Math.min(opts.limit ?? 10, MAX_DRIFT_REPORTS);
    const runs: WorkflowExecutionInfo[] = [];
    for await (const wf of this.client.workflow.list({ query: visibilityQuery({ BaristaKind: 'drift', BaristaTenant: tenant }) })) {
      runs.push(wf);
      if (runs.length >= limit) break;
    }
    // the store orders running runs first, then by close time: by start time, newest first, for people
    runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
    return Promise.all(
      runs.map(async (wf) => {
        const summary = runSummary(wf);
        const found = await this.reportOf(wf);
        if ('error' in found) return { ...summary, reportError: found.error };
        if (!found.report) return summary;
        return { ...summary, report: opts.app ? reportForApp(found.report, opts.app) : found.report };
      }),
    );
  }

  private async reportOf(wf: WorkflowExecutionInfo): Promise<{ report?: DriftReport } | { error: string }> {
    const handle = this.client.workflow.getHandle(wf.workflowId, wf.runId);
    if (wf.status.name === 'COMPLETED') return { report: (await handle.result()) as DriftReport };
    if (wf.status.name !== 'RUNNING') return {};
    try {
      return { report: await this.client.withDeadline(Date.now() + REPORT_QUERY_DEADLINE_MS, () => handle.query(driftReportQuery)) };
    } catch (err) {
      return { error: `the run did not answer its report query: ${(err as Error).message}` };
    }
  }

  private async runningRun(tenant: string): Promise<string | undefined> {
    const query = visibilityQuery({ BaristaKind: 'drift', BaristaTenant: tenant, ExecutionStatus: 'Running' });
    for await (const wf of this.client.workflow.list({ query, pageSize: 1 })) {
      // dry runs change nothing and do not hold the tenant
      if (wf.memo?.dryRun !== true) return wf.workflowId;
    }
    return undefined;
  }

  private async describeOrUndefined(tenant: string): Promise<DriftScheduleView | undefined> {
    try {
      return scheduleView(tenant, await this.handle(tenant).describe());
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    }
  }

  /** `act` on the tenant's Schedule; NOT_FOUND when it has none. */
  private async existing(tenant: string, act: (h: ScheduleHandle) => Promise<void>): Promise<void> {
    try {
      await act(this.handle(tenant));
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) await this.describeDriftSchedule(tenant); // throws NOT_FOUND naming the way out
      throw err;
    }
  }
}

function searchAttributes(tenant: string) {
  return [
    { key: SA.kind, value: 'drift' },
    { key: SA.tenant, value: tenant },
  ];
}

function checkInterval(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < MIN_DRIFT_INTERVAL_SECONDS || seconds > MAX_DRIFT_INTERVAL_SECONDS)
    throw DomainError.invalid([
      {
        field: 'intervalSeconds',
        message: `must be a whole number of seconds from ${MIN_DRIFT_INTERVAL_SECONDS} to ${MAX_DRIFT_INTERVAL_SECONDS}`,
      },
    ]);
}

export function scheduleView(tenant: string, d: ScheduleDescription): DriftScheduleView {
  const every = d.spec.intervals?.[0]?.every;
  const pause = d.state.paused ? PAUSE_NOTE.exec(d.state.note ?? '') : null;
  return {
    scheduleId: d.scheduleId,
    tenant,
    ...(every !== undefined ? { intervalSeconds: Math.round(every / 1_000) } : {}),
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
    ...(pause ? { pausedBy: { by: pause[1]!, reason: pause[2]! } } : {}),
    overlap: d.policies.overlap ?? ScheduleOverlapPolicy.SKIP, // the server fills in its default
    // Temporal lists the times of the spec even while paused; none of them starts a run then
    nextRuns: d.state.paused ? [] : d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
    running: d.info.runningActions.map((a) => ({ workflowId: a.workflow.workflowId, runId: a.workflow.firstExecutionRunId })),
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    createdAt: d.info.createdAt.toISOString(),
    ...(d.info.lastUpdatedAt ? { updatedAt: d.info.lastUpdatedAt.toISOString() } : {}),
  };
}

function runSummary(wf: WorkflowExecutionInfo): DriftRunSummary {
  const by = wf.memo?.by;
  const dryRun = wf.memo?.dryRun;
  return {
    workflowId: wf.workflowId,
    runId: wf.runId,
    status: wf.status.name,
    startTime: wf.startTime.toISOString(),
    ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
    ...(typeof by === 'string' ? { by } : {}),
    ...(typeof dryRun === 'boolean' ? { dryRun } : {}),
  };
}

/**
 * The report with only `app` (none when the run did not look at it); its totals counted over that App: `found`
 * every finding, `repaired`/`quarantined`/`failed` the findings with that outcome, `skippedApps` 1 if it was skipped.
 */
export function reportForApp(report: DriftReport, app: string): DriftReport {
  const apps = report.apps.filter((a) => a.app === app);
  const findings: DriftFinding[] = apps.flatMap((a) => a.cells.flatMap((c) => c.findings));
  const count = (outcome: DriftFinding['outcome']) => findings.filter((f) => f.outcome === outcome).length;
  return {
    ...report,
    apps,
    totals: {
      apps: apps.length,
      found: findings.length,
      repaired: count('repaired'),
      quarantined: count('quarantined'),
      failed: count('failed'),
      skippedApps: apps.filter((a) => a.state === 'skipped').length,
    },
  };
}
