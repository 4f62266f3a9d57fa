import type { UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { z } from 'zod';
import { describeIssues, toFieldIssues } from '../domain/index.js';
import { actor } from './action-inputs.js';
import {
  TICKET_ACTION_REFUSED,
  TICKET_ACTIONS,
  ticketActions,
  type TicketAction,
  type TicketActionInputs,
  type TicketActionResult,
} from './ticket-definitions.js';
import type { TicketTracker } from './ticket-state.js';

const app = z
  .string({
    error: (issue) => (issue.input === undefined ? 'is required: which app of the ticket' : 'must be a string: an app of the ticket'),
  })
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters');
const schemas: { [A in TicketAction]: z.ZodType<TicketActionInputs[A]> } = {
  approve: actor.extend({ app: app.optional() }),
  pause: actor,
  resume: actor,
  abort: actor,
  rollback: actor,
  retry: actor.extend({
    app,
    revision: z.number({ error: 'must be a revision number' }).int('must be a whole revision number').positive('must be ≥ 1').optional(),
  }),
  skip: actor.extend({ app }),
};

const ENDED = ['succeeded', 'aborted', 'rolled-back'];

/**
 * Why the ticket cannot take `action` now, or undefined. Runs in the validator (an Update refused leaves no trace
 * in the history) and again in the handler.
 */
function refusal<A extends TicketAction>(t: TicketTracker, action: A, input: TicketActionInputs[A]): string | undefined {
  if (ENDED.includes(t.state)) return `the ticket has ended (${t.state})`;
  if (t.abortRequested || t.rollbackRequested) return `the ticket is being ${t.abortRequested ? 'aborted' : 'rolled back'}`;
  const named = 'app' in input && input.app !== undefined ? t.app(input.app) : undefined;
  if ('app' in input && input.app !== undefined && !named)
    return `app: app ${input.app} is not in this ticket (${[...t.apps.keys()].join(', ')})`;
  switch (action) {
    case 'approve':
      if (!named) return t.state === 'awaiting-approval' ? undefined : 'the ticket is not waiting for approval';
      return named.state === 'awaiting-approval' ? undefined : `app ${named.app} is not waiting for approval (${named.state})`;
    case 'pause':
      return t.paused ? 'the ticket is paused already' : undefined;
    case 'resume':
      return t.paused ? undefined : 'the ticket is not paused';
    case 'retry':
      return named!.state === 'failed' || named!.state === 'aborted'
        ? undefined
        : `only a failed or aborted app is retried; ${named!.app} is ${named!.state}`;
    case 'skip':
      return ['waiting', 'blocked', 'failed', 'aborted', 'awaiting-approval'].includes(named!.state)
        ? undefined
        : `app ${named!.app} is ${named!.state}: only an app not running is skipped`;
    default:
      return undefined;
  }
}

/** What each action does to the ticket (the workflow's loop acts on it). */
function apply<A extends TicketAction>(t: TicketTracker, action: A, input: TicketActionInputs[A]): void {
  const i = input as TicketActionInputs[TicketAction] & { app?: string; revision?: number };
  switch (action) {
    case 'approve':
      if (i.app) t.approvedApps.add(i.app);
      else t.approved = true;
      break;
    case 'pause':
      t.paused = { by: i.by, ...(i.reason ? { reason: i.reason } : {}), since: new Date().toISOString() };
      break;
    case 'resume':
      t.paused = undefined;
      break;
    case 'abort':
      t.abortRequested = { by: i.by, ...(i.reason ? { reason: i.reason } : {}) };
      break;
    case 'rollback':
      t.rollbackRequested = { by: i.by, ...(i.reason ? { reason: i.reason } : {}) };
      break;
    case 'retry':
      t.set(i.app!, 'waiting', i.revision ? { revision: i.revision } : {});
      break;
    case 'skip':
      t.set(i.app!, 'skipped', { reason: `marked done by hand by ${i.by}${i.reason ? `: ${i.reason}` : ''}` });
      break;
  }
}

/**
 * Registers every ticket action as a validated Update; each accepted one is recorded in the ticket's audit trail.
 * Any input (none, `null`, wrong types, unknown apps, huge strings) is refused by the validator with the field named,
 * before it is accepted: nothing is recorded and no workflow task can fail. Tickets take no signals: one sent by hand
 * (`temporal workflow signal`) has no handler and is ignored.
 */
export function wireTicketActions(t: TicketTracker): void {
  for (const action of TICKET_ACTIONS) wireAction(t, action);
}

function wireAction<A extends TicketAction>(t: TicketTracker, action: A): void {
  setHandler(
    ticketActions[action] as UpdateDefinition<TicketActionResult, [unknown]>,
    (raw: unknown): TicketActionResult => {
      // the validator ran in this same activation, so nothing changed since: this is a guard, not a path
      const decision = decide(t, action, raw);
      if (!decision.ok) throw ApplicationFailure.nonRetryable(decision.reason, TICKET_ACTION_REFUSED);
      const input = decision.input;
      apply(t, action, input);
      const what =
        'app' in input && input.app ? `${input.app}${'revision' in input && input.revision ? ` at revision ${input.revision}` : ''}` : '';
      const recorded = t.record(input.by, action, [what, input.reason].filter(Boolean).join(': ') || undefined);
      return { action, recorded, state: t.state };
    },
    {
      validator: (raw: unknown) => {
        const decision = decide(t, action, raw);
        if (!decision.ok) throw ApplicationFailure.nonRetryable(decision.reason, TICKET_ACTION_REFUSED);
      },
    },
  );
}

/** Whether `raw` is a valid `action` the ticket can take now. Reads only; never throws. */
function decide<A extends TicketAction>(
  t: TicketTracker,
  action: A,
  raw: unknown,
): { ok: true; input: TicketActionInputs[A] } | { ok: false; reason: string } {
  try {
    const parsed = schemas[action].safeParse(raw);
    if (!parsed.success) return { ok: false, reason: `invalid input: ${describeIssues(toFieldIssues(parsed.error))}` };
    const refused = refusal(t, action, parsed.data);
    return refused ? { ok: false, reason: refused } : { ok: true, input: parsed.data };
  } catch (err) {
    // a bug in a rule must refuse the action, not fail the workflow task
    return { ok: false, reason: `refused: ${err instanceof Error ? err.message : String(err)}` };
  }
}
