/**
 * Signals, queries and updates of the ReleaseTicket workflow, defined once and imported by the client, API and
 * CLI (docs/tickets.md).
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { TicketSpec } from '../domain/ticket.js';
import type { AuditEntry, ReleaseState } from './release-status.js';

/** Workflow id of a ticket. */
export function ticketWorkflowId(tenant: string, id: string): string {
  return `ticket/${tenant}/${id}`;
}

export interface TicketInput {
  id: string;
  spec: TicketSpec;
  requestedBy: string;
}

/**
 * One App of a ticket. `waiting`: for its dependencies (or a free slot); `awaiting-approval`: per-app approval;
 * `queued`: behind a release of the App that was already in flight; `blocked`: a dependency failed, was aborted or
 * is blocked itself; `skipped`: an admin marked it done by hand.
 */
export type TicketAppState =
  | 'waiting'
  | 'awaiting-approval'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'aborted'
  | 'blocked'
  | 'skipped'
  | 'rolling-back'
  | 'rolled-back';

export interface TicketAppStatus {
  app: string;
  dependsOn: string[];
  level: number;
  state: TicketAppState;
  /** Why it waits, is blocked, failed or was skipped. */
  reason?: string;
  /** The revision asked for (the App's latest when its release started, unless the entry names one). */
  revision?: number;
  /** The App release run by this ticket now or last (its own status tells groups, gates and pods). */
  release?: { workflowId: string; runId: string };
  /** The state the release ended in (succeeded, failed, aborted, rolled-back, ...). */
  releaseState?: ReleaseState | 'failed';
  /** Revision the release moved the App from: what a saga rollback goes back to. */
  from?: number;
  /** How many times this app's release was started (a retry starts it again). */
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
}

export const TICKET_STATES = ['awaiting-approval', 'running', 'blocked', 'succeeded', 'aborted', 'rolling-back', 'rolled-back'] as const;
/** `blocked`: nothing more can run until an operator retries, skips, rolls back or aborts. */
export type TicketState = (typeof TICKET_STATES)[number];

export interface TicketStatus {
  id: string;
  tenant: string;
  title: string;
  reason?: string;
  requestedBy: string;
  state: TicketState;
  approval: TicketSpec['approval'];
  onFailure: TicketSpec['onFailure'];
  maxParallel: number;
  paused?: { by: string; reason?: string; since: string };
  /** Apps by dependency level: level 0 first. */
  levels: string[][];
  apps: TicketAppStatus[];
  audit: AuditEntry[];
  createdAt: string;
  finishedAt?: string;
}

export interface TicketActor {
  by: string;
  reason?: string;
}
export interface TicketActionInputs {
  /** Without an app: the ticket (approval `before-start`); with one: that app's release (approval `per-app`). */
  approve: TicketActor & { app?: string };
  pause: TicketActor;
  resume: TicketActor;
  abort: TicketActor;
  /** Roll back every app the ticket changed, last finished first. */
  rollback: TicketActor;
  /** Start a failed or aborted app's release again (optionally at another revision); its dependents follow. */
  retry: TicketActor & { app: string; revision?: number };
  /** Mark an app done by hand (an admin): its dependents may go on. */
  skip: TicketActor & { app: string };
}
export type TicketAction = keyof TicketActionInputs;
export const TICKET_ACTIONS = [
  'approve',
  'pause',
  'resume',
  'abort',
  'rollback',
  'retry',
  'skip',
] as const satisfies readonly TicketAction[];

export interface TicketActionResult {
  action: TicketAction;
  recorded: AuditEntry;
  state: TicketState;
}

/** Failure type of an action the ticket refuses (no such app, wrong state, bad input). */
export const TICKET_ACTION_REFUSED = 'TicketActionRefused';

function ticketAction<A extends TicketAction>(name: A) {
  return defineUpdate<TicketActionResult, [TicketActionInputs[A]]>(`ticket-${name}`);
}
export const ticketActions: { [A in TicketAction]: ReturnType<typeof ticketAction<A>> } = {
  approve: ticketAction('approve'),
  pause: ticketAction('pause'),
  resume: ticketAction('resume'),
  abort: ticketAction('abort'),
  rollback: ticketAction('rollback'),
  retry: ticketAction('retry'),
  skip: ticketAction('skip'),
};
export const ticketStatusQuery = defineQuery<TicketStatus>('ticket-status');
