import { z } from 'zod';
import { describeIssues, toFieldIssues } from '../domain/index.js';
import type { ActionInputs, ReleaseAction } from './definitions.js';

/**
 * The one schema of each operator action's input, parsed inside the workflow by both the Update validators
 * and the signal handlers (zod is pure JavaScript: it runs in the workflow sandbox). Strict: an unknown field
 * (a typo such as `grop`) is refused rather than silently dropped, so an approval never lands on another gate.
 */
/** Who takes an action (self-declared on the Temporal path; from the token on the API's). */
export const actorName = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required: who takes the action' : 'must be a string') })
  .trim()
  .min(1, 'must not be empty: who takes the action')
  .max(200, 'must be at most 200 characters');
const reason = z.string({ error: 'must be a string' }).max(1000, 'must be at most 1000 characters').optional();
/** Who takes an action and why: the input of most actions, on releases and tickets alike. */
export const actor = z.strictObject({ by: actorName, reason }, { error: shapeError('{"by": "alice", "reason": "..."}') });

export const actionInputSchemas: { [A in ReleaseAction]: z.ZodType<ActionInputs[A]> } = {
  approve: actor.extend({
    group: z
      .number({ error: 'must be a non-negative integer (a group index)' })
      .int('must be a non-negative integer (a group index)')
      .min(0, 'must be a non-negative integer (a group index)')
      .optional(),
  }),
  pause: actor,
  resume: actor,
  abort: actor,
  rollback: actor,
  'promote-all': actor,
  'skip-pod': actor.extend({ pod: z.string({ error: 'is required: the pod to skip' }).min(1, 'must not be empty').max(253) }),
  'bypass-window': actor.extend({
    reason: z.string({ error: 'is required: why the change window is bypassed' }).trim().min(1, 'must not be empty: why').max(1000),
  }),
};

/** The input of `action`, or why it is not one ("by: is required: who takes the action; group: ..."). */
export function parseActionInput<A extends ReleaseAction>(
  action: A,
  raw: unknown,
): { ok: true; input: ActionInputs[A] } | { ok: false; reason: string } {
  const parsed = actionInputSchemas[action].safeParse(raw);
  if (parsed.success) return { ok: true, input: parsed.data };
  return { ok: false, reason: `invalid input: ${describeIssues(toFieldIssues(parsed.error))}` };
}

/** Who a (possibly malformed) action names as its author, for the audit entry that rejects it. */
export function claimedActor(raw: unknown): string {
  const claimed = typeof raw === 'object' && raw !== null ? (raw as { by?: unknown }).by : undefined;
  return typeof claimed === 'string' && claimed.trim() ? claimed.trim().slice(0, 200) : '(anonymous)';
}

/** The error of an input that is not an object: what one looks like (`example`), and what came instead. */
export function shapeError(example: string): (issue: { code: string; input?: unknown }) => string | undefined {
  return (issue) => {
    if (issue.code !== 'invalid_type') return undefined;
    const got =
      issue.input === undefined
        ? 'no input'
        : issue.input === null
          ? 'null'
          : Array.isArray(issue.input)
            ? 'an array'
            : `a ${typeof issue.input}`;
    return `must be an object such as ${example}; got ${got}`;
  };
}
