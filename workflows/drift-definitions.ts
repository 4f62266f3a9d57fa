import { defineQuery, defineUpdate } from '@temporalio/workflow';

/**
 * Drift repair (docs/drift.md): one DriftRepair run per tenant at a time, started by the tenant's Temporal
 * Schedule (or by hand), compares each cell's recorded revision with what its cluster shows and repairs it
 * through the release's own per-pod protocol. Signals, queries, ids and report types live here, next to the
 * workflow, and the API and CLI import them.
 */

/** Id of the tenant's drift Schedule; each scheduled run's workflow id starts with it. */
export function driftScheduleId(tenant: string): string {
  return `drift/${tenant}`;
}

/** Workflow id of a run started by hand (trigger-now goes through the Schedule and gets the Schedule's ids). */
export function driftRunId(tenant: string, at: Date): string {
  return `drift/${tenant}/manual-${at.toISOString()}`;
}

export const DEFAULT_DRIFT_INTERVAL_SECONDS = 300;
/** Pods repaired per App per run, at most (App `drift.maxPodsPerRun` overrides it). */
export const DEFAULT_MAX_PODS_PER_RUN = 5;
/** Runs in a row a field may be repaired before it is quarantined (App `drift.quarantineAfter`). */
export const DEFAULT_QUARANTINE_AFTER = 3;

export interface DriftRunInput {
  tenant: string;
  /** Report only: nothing is changed. */
  dryRun?: boolean;
  /** Only these Apps (default: every App of the tenant). */
  apps?: string[];
  /** Who started it: `schedule`, or the identity that asked for the run. */
  by?: string;
}

/** What differs, one field of one object. */
export interface DriftFinding {
  cell: string;
  /** `statefulset/<name>` or `pod/<name>`. */
  object: string;
  /** Field path, e.g. `spec.replicas`, `spec.template.spec.containers[name=app].image`, `metadata.annotations[k]`. */
  field: string;
  expected?: string;
  actual?: string;
  outcome: DriftOutcome;
  /** Why it was not repaired, or what the repair found. */
  reason?: string;
}

export type DriftOutcome =
  /** Put back. */
  | 'repaired'
  /** Dry run: found, not changed. */
  | 'found'
  /** Drifted again after `quarantineAfter` repairs in a row: left as it is, reported, not repaired again. */
  | 'quarantined'
  /** Beyond this run's cap (`maxPodsPerRun`): repaired by a later run. */
  | 'deferred'
  /** The repair failed (reason given): retried by the next run, never in a tight loop. */
  | 'failed'
  /** A release started meanwhile: the repair yielded to it. */
  | 'yielded';

export interface CellDriftReport {
  cell: string;
  cluster?: string;
  /** The revision recorded for the cell by the last release that reached it: the cell's desired state. */
  revision?: number;
  state: 'clean' | 'drifted' | 'unreachable' | 'not-released' | 'failed';
  reason?: string;
  findings: DriftFinding[];
}

export interface AppDriftReport {
  app: string;
  state: 'clean' | 'drifted' | 'repaired' | 'skipped' | 'failed';
  /** Why the App was skipped (a release in flight, no release yet) or failed. */
  reason?: string;
  cells: CellDriftReport[];
}

export interface DriftReport {
  tenant: string;
  workflowId: string;
  runId: string;
  dryRun: boolean;
  by: string;
  startedAt: string;
  finishedAt?: string;
  apps: AppDriftReport[];
  totals: { apps: number; found: number; repaired: number; quarantined: number; failed: number; skippedApps: number };
}

/** The report so far (running) or final (the workflow's result is the same report). */
export const driftReportQuery = defineQuery<DriftReport>('drift-report');

/**
 * A release of `app` is starting: the run repairs no further pod of that App (the pod in hand finishes first,
 * then the update answers). Sent by the release's own activity before it changes anything.
 */
export const yieldAppUpdate = defineUpdate<{ yielded: true; waitedForPod?: string }, [{ app: string; release: string }]>('yield-app');
