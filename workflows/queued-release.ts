import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { awaitReleaseClosed, temporalSide } from './activity-proxies.js';
import type { ReleaseRequest } from '../domain/index.js';

// ---- definitions shared with the API (one queue per App)

/** Workflow id of the release queue of (tenant, app). */
export function releaseQueueId(tenant: string, app: string): string {
  return `release-queue/${tenant}/${app}`;
}

/** A release that waits its turn. */
export interface QueuedRelease {
  /** The caller's Idempotency-Key, else a uuid: names the entry and keys its release. */
  ticket: string;
  request: ReleaseRequest;
  /** Hash of the normalised request: the same ticket with another request is refused. */
  requestHash: string;
  idempotencyKey?: string;
  queuedAt: string;
  state: 'queued' | 'started' | 'refused';
  /** Run id of the release in flight that this one waits behind (known for the head of the queue). */
  behind?: string;
  /** The release it became, once started. */
  release?: { workflowId: string; runId: string };
  startedAt?: string;
  /** Why it could not start (the App or revision went away, the plan no longer fits, ...). */
  error?: string;
}

export interface EnqueueInput {
  ticket: string;
  request: ReleaseRequest;
  requestHash: string;
  idempotencyKey?: string;
  /** Run id of the release in flight when it was queued. */
  behind?: string;
}

/** One entry as the API shows it: its place in the queue and a sentence saying what it waits for. */
export interface QueueEntryStatus extends Omit<QueuedRelease, 'request'> {
  /** 1 for the next release to start; absent once started or refused. */
  position?: number;
  /** "queued behind <runId>", "started as run <runId>", or "refused: ...". */
  status: string;
  requestedBy: string;
  revision?: number;
}

export interface ReleaseQueueStatus {
  tenant: string;
  app: string;
  entries: QueueEntryStatus[];
}

/** Failure type of an enqueue refused because its ticket was queued with another request. */
export const QUEUE_TICKET_REUSED = 'IdempotencyKeyReused';

export const enqueueUpdate = defineUpdate<QueueEntryStatus, [EnqueueInput]>('enqueue');
export const queueStatusQuery = defineQuery<ReleaseQueueStatus>('queue-status');

// ---- the workflow

/** What one attempt to start the head of the queue found. */
export type QueuedStartResult =
  { started: { workflowId: string; runId: string } } | { behind: { workflowId: string; runId: string } } | { refused: string };

/** Entries kept after they started or were refused, so that callers can find the release they became. */
const KEEP_FINISHED = 20;
/** How long an empty queue stays open before it ends (a new request starts a new run of it). */
const IDLE_BEFORE_CLOSING = '5 minutes';

const { startQueuedRelease } = temporalSide;

interface QueueState {
  tenant: string;
  app: string;
  entries: QueuedRelease[];
}

/**
 * The release queue of one App: releases asked for with `queue: true` while another was in flight, started
 * one after the other in the order they were queued. For the head of the queue it starts the release (the
 * same start as the API: from/to computed at that moment); while another release is in flight it waits for
 * that run to close, then tries again. An entry that can no longer start is marked refused with the reason
 * and the next one goes on. Ends after a while with nothing queued.
 */
export async function releaseQueue(state: QueueState): Promise<void> {
  const q: QueueState = { ...state, entries: [...state.entries] };
  setHandler(queueStatusQuery, () => statusOf(q));
  setHandler(
    enqueueUpdate,
    (input) => {
      const existing = q.entries.find((e) => e.ticket === input.ticket);
      if (!existing)
        q.entries.push({
          ticket: input.ticket,
          request: input.request,
          requestHash: input.requestHash,
          ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
          queuedAt: new Date().toISOString(),
          state: 'queued',
          ...(input.behind ? { behind: input.behind } : {}),
        });
      return statusOf(q).entries.find((e) => e.ticket === input.ticket)!;
    },
    {
      validator: (input: EnqueueInput) => {
        if (input.request.tenant !== q.tenant || input.request.app !== q.app)
          throw ApplicationFailure.nonRetryable(`this queue is for ${q.tenant}/${q.app}`, 'InvalidInput');
        const existing = q.entries.find((e) => e.ticket === input.ticket);
        if (existing && existing.requestHash !== input.requestHash)
          throw ApplicationFailure.nonRetryable(
            `Idempotency-Key "${input.ticket}" was already used for another release request of ${q.tenant}/${q.app}`,
            QUEUE_TICKET_REUSED,
          );
      },
    },
  );

  for (;;) {
    const next = () => q.entries.find((e) => e.state === 'queued');
    if (!(await condition(() => next() !== undefined, IDLE_BEFORE_CLOSING))) break;
    const head = next()!;
    const result = await startQueuedRelease({ request: head.request, idempotencyKey: head.idempotencyKey ?? `queued/${head.ticket}` });
    if ('behind' in result) {
      head.behind = result.behind.runId;
      await awaitReleaseClosed(result.behind);
    } else if ('refused' in result) {
      head.state = 'refused';
      head.error = result.refused;
    } else {
      head.state = 'started';
      head.release = result.started;
      head.startedAt = new Date().toISOString();
    }
    forgetOldEntries(q);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof releaseQueue>(q);
    }
  }
  await condition(allHandlersFinished);
}

function forgetOldEntries(q: QueueState): void {
  const finished = q.entries.filter((e) => e.state !== 'queued');
  const forget = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)));
  q.entries = q.entries.filter((e) => !forget.has(e));
}

function statusOf(q: QueueState): ReleaseQueueStatus {
  const waiting = q.entries.filter((e) => e.state === 'queued');
  const inFlight = waiting[0]?.behind;
  return {
    tenant: q.tenant,
    app: q.app,
    entries: q.entries.map((e) => {
      const { request, ...entry } = e;
      const position = waiting.indexOf(e) + 1;
      const shown = { ...entry, requestedBy: request.requestedBy, ...(request.revision ? { revision: request.revision } : {}) };
      if (entry.state === 'started') return { ...shown, status: `started as run ${entry.release?.runId}` };
      if (entry.state === 'refused') return { ...shown, status: `refused: ${entry.error}` };
      const ahead = position > 1 ? ` and ${position - 1} queued release${position > 2 ? 's' : ''} ahead` : '';
      return { ...shown, position, status: `queued behind ${inFlight ?? 'the release in flight'}${ahead}` };
    }),
  };
}
