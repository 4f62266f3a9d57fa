import type { Strategy } from '../domain/strategy.js';
import type { CheckState, Measurement } from '../domain/verification.js';

/** The full, queryable status of one App release. Plain data: it crosses the query boundary as JSON. */
export const RELEASE_STATES = [
  'planning',
  'running',
  'waiting-approval',
  /** At a group boundary inside a change window of the tenant: goes on by itself when it ends (or an admin bypasses it). */
  'waiting-window',
  'verifying',
  'paused',
  'rolling-back',
  'succeeded',
  /** Disaster mode: every pod it could reach released; the cells of unreachable clusters are in its ledger. */
  'succeeded-with-skips',
  'aborted',
  'rolled-back',
  'failed',
] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];
/** States only Temporal can give a run (api/release-states.ts): shown by the API, never written by the workflow. */
export type ClosedByTemporalState = 'terminated' | 'timed-out' | 'cancelled';

/** `unknown`: caught mid-step in a cluster a disaster-mode release lost; what it is now, only the cluster knows. */
export type PodState = 'pending' | 'in-progress' | 'done' | 'skipped' | 'failed' | 'unknown';

export interface PodStatus {
  name: string;
  cell: string;
  cluster: string;
  group: number;
  state: PodState;
  /** Revision the pod was last moved to by this release. */
  revision?: number;
  /** Step that failed or timed out (drain, upgrade, await-ready, ...); for a pod in progress, the step it is in now. */
  step?: string;
  /** A pod in progress: since when it is in `step`, and what it waits for (added by the API from the live attempt). */
  stepSince?: string;
  waitingFor?: string;
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
  /** When the gate began to wait. */
  since?: string;
  /** When it is expected to end: a timed gate passes, an auto gate's window ends, a manual gate times out. */
  until?: string;
  /** The gate's verification checks, measurement by measurement (the latest round; a resume starts a new one). */
  checks?: CheckStatus[];
}

export interface CheckStatus {
  name: string;
  type: 'prometheus' | 'webhook' | 'compare';
  state: CheckState;
  /** Rounds of this check at this gate (a resume after a failed or inconclusive round starts another). */
  round: number;
  measurements: Measurement[];
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

/** A cell a disaster-mode release skipped because its cluster could not be reached: one entry of its ledger. */
export interface SkippedCell {
  cell: string;
  cluster: string;
  /** Why: the cluster's answer, or its silence ("cluster kc2 not answering within 3s"). */
  reason: string;
  at: string;
  /** The group the release was at when it skipped the cell. */
  group: number;
  /** The revision the cell's pods that this release did not move are at (the release's `from`; none: first release). */
  revision?: number;
  /** Pods of the cell this release had already moved to its target before the cluster was lost. */
  moved: string[];
  /** Pods caught mid-step (drained, upgrading): state unknown until a catch-up finishes or puts them back. */
  midStep: string[];
}

export interface PauseReason {
  reason: string;
  pod?: string;
  step?: string;
  by?: string;
  since: string;
  /** A gate check that failed or was inconclusive: which, what it asked, what it measured. */
  check?: { name: string; type: string; state: CheckState; query?: string; value?: string; reason?: string };
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
  /** The change window the release waits for at a group boundary (state waiting-window). */
  window?: { name: string; until: string; reason?: string };
  /** `disaster`: unreachable clusters' cells are skipped into `ledger` instead of pausing the release. */
  mode?: 'normal' | 'disaster';
  /** Cells skipped by a disaster-mode release (empty or absent otherwise). */
  ledger?: SkippedCell[];
  /** Disaster mode: the strategy, which a catch-up of the ledger takes by default. */
  strategy?: Strategy;
  /**
   * Set by the API for an ended release with a ledger: the ledger's cells the App still owes this release's
   * revision (empty: the ledger is closed, every cell released since), and what an operator should know now
   * ("kc7 is reachable again; 2 cells (rz06a, rz06b) owe revision 7: …").
   */
  ledgerOpen?: string[];
  notices?: string[];
  /** Pods this release changed (for abort and rollback reports). */
  changedPods: string[];
  startedAt: string;
  finishedAt?: string;
}
