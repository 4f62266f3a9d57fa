import { z } from 'zod';
import { ChecksSchema } from './verification.js';

const positiveSeconds = (what: string) =>
  z
    .number({ error: `${what} must be a number of seconds` })
    .positive(`${what} must be positive`)
    .max(7 * 24 * 3600);

/** A group size: a pod count ("3") or a share of the pods in scope ("25%"). */
export const GroupSizeSchema = z.union([
  z.number().int('must be a whole number of pods').positive('must be at least 1 pod'),
  z
    .string()
    .regex(/^(100|[1-9]?[0-9](\.[0-9]+)?)%$/, 'must be a percentage between 0% and 100%, e.g. "25%"')
    .refine((s) => parseFloat(s) > 0, 'must be more than 0%'),
]);

/** The App's unavailability budget: a pod count, or a share of all its pods ("25%", rounded down, at least 1). */
export const MaxUnavailableSchema = z.union(
  [
    z.number().int('must be a whole number of pods').positive('must be at least 1 pod: 0 would never let a pod change'),
    z
      .string()
      .regex(/^(100|[1-9]?[0-9](\.[0-9]+)?)%$/, 'must be a percentage between 0% and 100%, e.g. "25%"')
      .refine((s) => parseFloat(s) > 0, 'must be more than 0%'),
  ],
  { error: 'must be a pod count (e.g. 2) or a percentage of the App\'s pods (e.g. "25%")' },
);

export const GateSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('manual'),
    timeoutSeconds: positiveSeconds('timeoutSeconds').optional(),
    /** Verification before a person is asked: a failed check applies onFailure, an inconclusive one pauses. */
    checks: ChecksSchema.optional(),
  }),
  z.strictObject({
    type: z.literal('auto'),
    windowSeconds: positiveSeconds('windowSeconds').default(30),
    timeoutSeconds: positiveSeconds('timeoutSeconds').optional(),
    /** Verification after the window: Prometheus queries, webhooks, new-vs-old comparison (docs/verification.md). */
    checks: ChecksSchema.optional(),
  }),
  z.strictObject({ type: z.literal('timed'), seconds: positiveSeconds('seconds') }),
]);

export const StrategySchema = z
  .strictObject({
    /** Number of groups after the optional beta group; or give `groupSizes`. */
    groups: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000).optional(),
    /** Explicit group sizes, counts or percentages of the pods in scope; the last group takes the rest. */
    groupSizes: z.array(GroupSizeSchema).min(1).max(1000).optional(),
    /** A first group of one pod per cell (`per-cell`) or one pod in total (`single`). */
    beta: z.enum(['none', 'per-cell', 'single']).default('none'),
    /** Cap on pods changing at once within a group. */
    maxConcurrentPods: z.number().int().min(1).max(1000).default(10),
    mode: z.enum(['in-place', 'recreate']).default('in-place'),
    gate: GateSchema.default({ type: 'manual' }),
    /** Deadline for one pod's step (drain, upgrade, ready); past it the release pauses with the pod and step. */
    podTimeoutSeconds: positiveSeconds('podTimeoutSeconds').default(300),
    /** What a failed gate or pod does: pause for a person, or roll back at once. */
    onFailure: z.enum(['pause', 'rollback']).default('pause'),
    /**
     * Pods of the App, in all its cells and clusters, that may be unavailable at once (drained, upgrading,
     * unready, on a stopped node, in a cluster that does not answer). A pod waits to be taken down while the budget
     * is spent; pods in flight are capped by it too. Unset: no budget beyond maxConcurrentPods.
     */
    maxUnavailable: MaxUnavailableSchema.optional(),
  })
  .refine((s) => !(s.groups !== undefined && s.groupSizes !== undefined), {
    message: 'give either groups or groupSizes, not both',
    path: ['groupSizes'],
  });

export type Strategy = z.output<typeof StrategySchema>;
export type StrategyInput = z.input<typeof StrategySchema>;
export type Gate = z.output<typeof GateSchema>;
export type GroupSize = z.output<typeof GroupSizeSchema>;

/** An auto gate without a timeout gives its group this long to be stable: three windows, at least a minute. */
export function autoGateTimeoutSeconds(gate: Extract<Gate, { type: 'auto' }>): number {
  return gate.timeoutSeconds ?? Math.max(gate.windowSeconds * 3, 60);
}
