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
  groups: { index: number; beta: boolean; pods: string[] }[];
  pods: PodStatus[];
  gates: GateStatus[];
  audit: AuditEntry[];
  /** Pods this release changed (for abort and rollback reports). */
  changedPods: string[];
  startedAt: string;
  finishedAt?: string;
}
