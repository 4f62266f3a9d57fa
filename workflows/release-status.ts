/** The full, queryable status of one App release. Plain data: it crosses the query boundary as JSON. */
export const RELEASE_STATES = [
  'planning',
  'running',
  'waiting-approval',
  'verifying',
  'paused',
  'rolling-back',
  'succeeded',
  'aborted',
  'rolled-back',
  'failed',
] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];
/** States only Temporal can give a run (api/release-states.ts): shown by the API, never written by the workflow. */
export type ClosedByTemporalState = 'terminated' | 'timed-out' | 'cancelled';

export type PodState = 'pending' | 'in-progress' | 'done' | 'skipped' | 'failed';

export interface PodStatus {
  name: string;
  cell: string;
  cluster: string;
  group: number;
  state: PodState;
  /** Revision the pod was last moved to by this release. */
  revision?: number;
  /** Step that failed or timed out (drain, upgrade, await-ready, ...). */
  step?: string;
  error?: string;
  changed?: boolean;
  ip?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface GateStatus {
  group: number;
  type: 'manual' | 'auto' | 'timed';
  state: 'pending' | 'waiting' | 'passed' | 'failed' | 'skipped';
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
}

export interface AuditEntry {
  at: string;
  by: string;
  action: string;
  detail?: string;
}

export interface PodSummary {
  total: number;
  byState: Record<PodState, number>;
  changed: number;
}

export interface BatchRef {
  workflowId: string;
  group: number | 'rollback';
  pods: number;
  /** The batch's pods as the release knew them when the batch started (unchanged until it ends). */
  from: PodSummary;
}

/** What a status query returns: every pod (default), none (summary), or one group's pods. */
export interface StatusView {
  detail?: 'full' | 'summary';
  /** A group index, or `current`: the group the release is at. */
  group?: number | 'current';
}

export interface PauseReason {
  reason: string;
  pod?: string;
  step?: string;
  by?: string;
  since: string;
}

export interface ReleaseStatus {
  app: string;
  tenant: string;
  from?: number;
  to: number;
  state: ReleaseState | ClosedByTemporalState;
  /** Set when Temporal ended the run (terminated, reset, timed out, cancelled) rather than the release itself. */
  closedBy?: string;
  currentGroup?: number;
  paused?: PauseReason;
  /** Each group's pods; with a summary view or another group asked for, `pods` is empty and `size` still counts them. */
  groups: { index: number; beta: boolean; size?: number; done?: number; pods: string[] }[];
  /** Every pod (view full), one group's (view `{ group }`), or none (view summary). */
  pods: PodStatus[];
  /** Pods by state, across the whole release, whatever the view. */
  summary?: PodSummary;
  /** Which view this is: `full` unless asked otherwise (and the final result of a release over 1,000 pods). */
  detail?: 'full' | 'summary' | 'group';
  /** Child workflows moving pods right now (their own `batch-status` query tells each pod's live state). */
  batches?: BatchRef[];
  gates: GateStatus[];
  audit: AuditEntry[];
  /** Pods this release changed (for abort and rollback reports). */
  changedPods: string[];
  startedAt: string;
  finishedAt?: string;
}
