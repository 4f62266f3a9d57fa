/**
 * Signals, queries and updates of Barista's workflows, defined once. The client, API and CLI import these
 * same objects; the names are stable and documented (docs/releases.md) so `temporal workflow update execute`,
 * `temporal workflow signal` and `temporal workflow query` work on a release too.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AppSpec, DriftMemory, Revision, RevisionMark, RevisionMarks, RevisionVerdict } from '../domain/index.js';
import type { AuditEntry, PodStatus, ReleaseState, ReleaseStatus, StatusView } from './release-status.js';

/** Who did something, for the audit record. */
export interface Actor {
  by: string;
  reason?: string;
}

// ---- AppRelease
/**
 * Workflow task timeout of a release and of its batch children, instead of Temporal's 10 s. A batch's task can
 * replay a history of a thousand events with a few hundred pods in flight; on a worker that shares its cores with
 * busy API servers that took longer than 10 s, the timed-out task was handed out again, the worker that finished it
 * late dropped the run from its cache, and every retry had to replay the whole history: slower still, and it spread
 * to the other batches. A worker that dies holding a task costs at most this long; sticky tasks fail over sooner.
 */
export const RELEASE_WORKFLOW_TASK_TIMEOUT = '60s';

/** Inputs of the operator actions on a release (validated in the workflow: workflows/action-inputs.ts). */
export interface ActionInputs {
  /** Without a group: the gate of the current group. */
  approve: Actor & { group?: number };
  pause: Actor;
  resume: Actor;
  abort: Actor;
  rollback: Actor;
  'promote-all': Actor;
  'skip-pod': Actor & { pod: string };
  /** An admin lets the release pass the change window it waits for (a reason is required). */
  'bypass-window': Actor & { reason: string };
}
export type ReleaseAction = keyof ActionInputs;
export const RELEASE_ACTIONS = [
  'approve',
  'pause',
  'resume',
  'abort',
  'rollback',
  'promote-all',
  'skip-pod',
  'bypass-window',
] as const satisfies readonly ReleaseAction[];

/** What an accepted action did: the audit entry it recorded and the release's state right after. */
export interface ActionResult {
  action: ReleaseAction;
  recorded: AuditEntry;
  state: ReleaseState;
}

/** ApplicationFailure types an action Update is rejected with (by its validator). */
export const ActionFailureTypes = {
  /** The input does not parse (missing or empty `by`, wrong types, unknown fields). */
  invalidInput: 'InvalidActionInput',
  /** The input is fine but the release cannot take the action now (no such gate or pod, already finished, ...). */
  refused: 'ActionRefused',
} as const;

/**
 * Each operator action is an Update of this name (validated before it is accepted; answers with an
 * ActionResult or a reason) and, for compatibility (`temporal workflow signal`, older clients), a signal of
 * the same name whose handler accepts any input and records a bad or refused one as `<name>-rejected`.
 */
function releaseAction<A extends ReleaseAction>(name: A) {
  return { signal: defineSignal<[ActionInputs[A]]>(name), update: defineUpdate<ActionResult, [ActionInputs[A]]>(name) };
}
export const releaseActions: { [A in ReleaseAction]: ReturnType<typeof releaseAction<A>> } = {
  approve: releaseAction('approve'),
  pause: releaseAction('pause'),
  resume: releaseAction('resume'),
  abort: releaseAction('abort'),
  rollback: releaseAction('rollback'),
  'promote-all': releaseAction('promote-all'),
  'skip-pod': releaseAction('skip-pod'),
  'bypass-window': releaseAction('bypass-window'),
};
/**
 * A notification of this release could not be delivered to a webhook after every attempt (docs/notifications.md):
 * the tenant's notifier tells the release, which records `notification-dead-lettered` if it is still running.
 */
export interface NotificationDeadLettered {
  event: string;
  webhook: string;
  attempts: number;
  reason: string;
}
export const notificationDeadLetteredSignal = defineSignal<[NotificationDeadLettered]>('notification-dead-lettered');
/** The release's status; without a view, every pod (as always); `{ detail: 'summary' }` or `{ group }` keep it small. */
export const statusQuery = defineQuery<ReleaseStatus, [StatusView?]>('status');

// ---- ReleaseBatch (child of AppRelease: the per-pod protocol for one batch of one group, or of a rollback)
/**
 * What the release tells its batches, always whole (a batch that misses one signal is set right by the next):
 * whether the release is paused, how often it was resumed, whether the batch must stop starting pods, and which
 * of the batch's pods an operator skipped.
 */
export interface BatchControl {
  paused: boolean;
  resumeCount: number;
  stop: boolean;
  skipped: string[];
  /**
   * Disaster mode: clusters the release lost. Their pods not started are skipped, those in flight are given up
   * (state `unknown`): nothing more is sent to that cluster. Absent in controls of releases before disaster mode.
   */
  lost?: string[];
}
/** A batch's pod failed its step: the release records it and pauses (or rolls back, when the strategy says so). */
export interface BatchPodFailure {
  batch: string;
  pod: string;
  step: string;
  reason: string;
  /** The revision the pod was being moved to; the pod runs it when the failed step came after the upgrade. */
  revision: number;
  afterUpgrade: boolean;
  /** The strategy asks for a rollback on failure (and the batch is not itself a rollback). */
  rollback: boolean;
}
export const batchControlSignal = defineSignal<[BatchControl]>('batch-control');
export const batchPodFailedSignal = defineSignal<[BatchPodFailure]>('batch-pod-failed');
export const batchStatusQuery = defineQuery<PodStatus[]>('batch-status');

// ---- AppEntity (one long-lived workflow per App: its spec and numbered revisions)
export interface AppRecord {
  spec: AppSpec;
  revisions: Revision[];
  latest: number;
  /** Last revision released successfully per cell (desired state for drift repair). */
  released: Record<string, number>;
  /** Cells skipped by a disaster-mode release and not released since: what a catch-up must bring them to. */
  owed?: Record<string, OwedCell>;
  /** Drift repair's memory: consecutive runs each drifted field was repaired in (quarantine, domain/drift.ts). */
  drift?: DriftMemory;
  /** Marks of kept revisions (bad or good, why, by whom, when); absent until a revision is first marked. */
  marks?: RevisionMarks;
}
/** What an App entity keeps in its memo (`summary`), for listings that should not wake every entity. */
export interface AppSummaryMemo {
  workspace: string;
  latest: number;
  released: Record<string, number>;
}
export const upsertAppUpdate = defineUpdate<{ revision: number; created: boolean }, [{ spec: AppSpec; by: string }]>('upsert-app');
export const appQuery = defineQuery<AppRecord | undefined>('app');
/** An operator marks a kept revision bad (plain releases refuse it) or good; `reason` and `by` are required. */
export interface MarkRevisionInput {
  revision: number;
  verdict: RevisionVerdict;
  reason: string;
  by: string;
}
/** What the mark recorded, and the mark it replaced. */
export interface MarkRevisionResult {
  revision: number;
  mark: RevisionMark;
  previous?: RevisionMark;
}
/** Validated in the workflow (workflows/revision-marks.ts): refused with one of MarkFailureTypes, never a failed task. */
export const markRevisionUpdate = defineUpdate<MarkRevisionResult, [MarkRevisionInput]>('mark-revision');
/** ApplicationFailure types a `mark-revision` is refused with; `invalidInput` carries the field issues as its details. */
export const MarkFailureTypes = {
  invalidInput: 'InvalidMarkInput',
  unknownRevision: 'UnknownRevision',
} as const;
/** A cell a disaster-mode release skipped: it still runs an older revision and owes `revision` (a catch-up's). */
export interface OwedCell {
  cell: string;
  cluster: string;
  revision: number;
  /** Run id of the release whose ledger holds it. */
  release: string;
}
/** A release ended: `cells` now run `revision`; `owed`, cells its ledger holds (disaster mode). */
/** A drift repair run's memory for the App (a dry run sends none). */
export const driftMemorySignal = defineSignal<[{ memory: DriftMemory }]>('drift-memory');
export const releaseCompletedSignal = defineSignal<[{ revision: number; cells: string[]; owed?: OwedCell[] }]>('release-completed');
