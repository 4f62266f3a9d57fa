/**
 * Signals, queries and updates of Barista's workflows, defined once. The client, API and CLI import these
 * same objects; the names are stable and documented (docs/releases.md) so `temporal workflow signal` and
 * `temporal workflow query` work on a release too.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AppSpec, Revision } from '../domain/index.js';
import type { ReleaseStatus } from './release-status.js';

/** Who did something, for the audit record. */
export interface Actor {
  by: string;
  reason?: string;
}

// ---- AppRelease
export const approveSignal = defineSignal<[Actor & { group?: number }]>('approve');
export const pauseSignal = defineSignal<[Actor]>('pause');
export const resumeSignal = defineSignal<[Actor]>('resume');
export const abortSignal = defineSignal<[Actor]>('abort');
export const rollbackSignal = defineSignal<[Actor]>('rollback');
export const promoteAllSignal = defineSignal<[Actor]>('promote-all');
export const skipPodSignal = defineSignal<[Actor & { pod: string }]>('skip-pod');
export const statusQuery = defineQuery<ReleaseStatus>('status');

// ---- AppEntity (one long-lived workflow per App: its spec and numbered revisions)
export interface AppRecord {
  spec: AppSpec;
  revisions: Revision[];
  latest: number;
  /** Last revision released successfully per cell (desired state for drift repair). */
  released: Record<string, number>;
}
/** What an App entity keeps in its memo (`summary`), for listings that should not wake every entity. */
export interface AppSummaryMemo {
  workspace: string;
  latest: number;
  released: Record<string, number>;
}
export const upsertAppUpdate = defineUpdate<{ revision: number; created: boolean }, [{ spec: AppSpec; by: string }]>('upsert-app');
export const appQuery = defineQuery<AppRecord | undefined>('app');
export const releaseCompletedSignal = defineSignal<[{ revision: number; cells: string[] }]>('release-completed');
