import { z } from 'zod';
import { compileCondition, ConditionError } from './check-condition.js';

/** What a release tells a check about itself; the `{{…}}` placeholders of queries and selectors. */
export interface CheckContext {
  tenant: string;
  app: string;
  namespace: string;
  /** The revision the group was moved to. */
  revision: number;
  /** The revision the rest of the App still runs (absent on a first release). */
  previousRevision?: number;
  group: number;
  cells: string[];
  pods: string[];
  releaseId: string;
}

export const TEMPLATE_VARIABLES = [
  'tenant',
  'app',
  'namespace',
  'revision',
  'previousRevision',
  'group',
  'cells',
  'pods',
  'releaseId',
] as const;
const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** Placeholders in `text` that are not template variables (empty: every one is known). */
export function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) => !(TEMPLATE_VARIABLES as readonly string[]).includes(name));
}

/**
 * Fills the placeholders of a query or selector. Lists (cells, pods) become a regex alternation for `=~`
 * matchers ("rz01a|rz01b"); names are DNS labels, so they need no escaping.
 */
export function renderTemplate(text: string, ctx: CheckContext): string {
  const values: Record<(typeof TEMPLATE_VARIABLES)[number], string> = {
    tenant: ctx.tenant,
    app: ctx.app,
    namespace: ctx.namespace,
    revision: String(ctx.revision),
    previousRevision: ctx.previousRevision === undefined ? '' : String(ctx.previousRevision),
    group: String(ctx.group),
    cells: ctx.cells.join('|'),
    pods: ctx.pods.join('|'),
    releaseId: ctx.releaseId,
  };
  return text.replace(PLACEHOLDER, (whole, name: string) => (name in values ? values[name as keyof typeof values] : whole));
}

const templated = (what: string, max: number) =>
  z
    .string({ error: `${what} must be a string` })
    .trim()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must be at most ${max} characters`)
    .superRefine((text, ctx) => {
      const unknown = unknownPlaceholders(text);
      if (unknown.length > 0)
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder ${unknown.map((n) => `{{${n}}}`).join(', ')}; known: ${TEMPLATE_VARIABLES.map((n) => `{{${n}}}`).join(', ')}`,
        });
    });

const condition = z
  .string({ error: 'must be an expression over result, e.g. "result < 0.01"' })
  .trim()
  .min(1, 'must not be empty')
  .max(500)
  .superRefine((text, ctx) => {
    try {
      compileCondition(text);
    } catch (err) {
      if (!(err instanceof ConditionError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  });

/** When and how often a check measures, and how many bad measurements it tolerates (as in Argo Rollouts). */
const measuring = {
  /** Unique within the gate; names the check in status, audit and pause reasons. */
  name: z
    .string({ error: 'name must be a string' })
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'name must be lowercase letters, digits and dashes (at most 63), e.g. "error-rate"'),
  /** Seconds between measurements. */
  intervalSeconds: z
    .number({ error: 'intervalSeconds must be a number of seconds' })
    .positive('intervalSeconds must be more than 0')
    .max(3600, 'intervalSeconds must be at most 3600')
    .default(10),
  /** Seconds before the first measurement (e.g. to let a rate window fill with the new pods' traffic). */
  initialDelaySeconds: z.number({ error: 'initialDelaySeconds must be a number of seconds' }).min(0).max(3600).default(0),
  /** Measurements to take; the check passes once all are taken within the limits. */
  count: z
    .number({ error: 'count must be a whole number' })
    .int('count must be a whole number')
    .min(1, 'count must be at least 1')
    .max(100)
    .default(3),
  /** Failed measurements tolerated: one more fails the check. */
  failureLimit: z.number().int('failureLimit must be a whole number').min(0).max(100).default(0),
  /** Inconclusive measurements tolerated (no data, monitoring unreachable): one more makes the check inconclusive. */
  inconclusiveLimit: z.number().int('inconclusiveLimit must be a whole number').min(0).max(100).default(0),
};

export const PrometheusCheckSchema = z.strictObject({
  type: z.literal('prometheus'),
  ...measuring,
  /** PromQL with placeholders ({{app}}, {{revision}}, {{pods}}, …); one number, or one per series. */
  query: templated('query', 4000),
  /** True for a good value; every series must satisfy it. */
  successCondition: condition,
  /** Optional: true for a bad value. When given, a value neither good nor bad is inconclusive. */
  failureCondition: condition.optional(),
});

export const WebhookCheckSchema = z.strictObject({
  type: z.literal('webhook'),
  ...measuring,
  /** POSTed the release context as JSON (signed); answers {"result": "pass" | "fail" | "inconclusive", "reason"?}. */
  url: z.url({ protocol: /^https?$/, error: 'url must be an http:// or https:// URL' }).max(2000, 'url must be at most 2000 characters'),
  /** Per attempt. */
  timeoutSeconds: z.number().positive('timeoutSeconds must be more than 0').max(60, 'timeoutSeconds must be at most 60').default(5),
  /** Further attempts after a timeout, a refused connection or a 5xx, within one measurement. */
  retries: z.number().int().min(0).max(5).default(2),
});

export const CompareCheckSchema = z.strictObject({
  type: z.literal('compare'),
  ...measuring,
  /** Range of each measurement: requests in the last windowSeconds of both revisions. */
  windowSeconds: z.number().int('windowSeconds must be whole seconds').min(5, 'windowSeconds must be at least 5').max(3600).default(30),
  /** Counter of requests, with a status label the errorMatcher selects errors by. */
  requestsMetric: z
    .string()
    .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a metric name')
    .default('http_requests_total'),
  /** Histogram of request latency in seconds (its _bucket series are used). */
  latencyMetric: z
    .string()
    .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a metric name')
    .default('http_request_duration_seconds'),
  /** Label matchers of the App's series; placeholders allowed. */
  selector: templated('selector', 1000).default('namespace="{{namespace}}",app="{{app}}"'),
  /** Label carrying the pod's revision number. */
  revisionLabel: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a label name')
    .default('revision'),
  /** Matcher that makes a request an error. */
  errorMatcher: z.string().min(1).max(200).default('code=~"5.."'),
  /** Fails when the new revision's error rate exceeds the old one's by more than this (absolute, 0.01 = 1 point). */
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
  /** Which latency quantile to compare. */
  latencyQuantile: z.number().gt(0).lt(1).default(0.9),
  /** Fails when the new revision's quantile exceeds the old one's by more than this share (0.2 = 20 %). */
  maxLatencyIncrease: z.number().min(0).max(100).default(0.2),
  /** Requests each revision needs in the window for a decision; fewer is inconclusive. */
  minRequests: z.number().int().min(1).max(1e9).default(100),
  /** Significance level of both one-sided tests. */
  alpha: z.number().gt(0).lt(0.5).default(0.05),
});

export const CheckSchema = z.discriminatedUnion('type', [PrometheusCheckSchema, WebhookCheckSchema, CompareCheckSchema], {
  error: 'type must be "prometheus", "webhook" or "compare"',
});

export const ChecksSchema = z
  .array(CheckSchema)
  .min(1, 'give at least one check, or leave checks out')
  .max(10, 'at most 10 checks per gate')
  .superRefine((checks, ctx) => {
    const seen = new Set<string>();
    checks.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `check name "${c.name}" is used twice` });
      seen.add(c.name);
    });
  });

export type Check = z.output<typeof CheckSchema>;
export type CheckInput = z.input<typeof CheckSchema>;
export type PrometheusCheck = z.output<typeof PrometheusCheckSchema>;
export type WebhookCheck = z.output<typeof WebhookCheckSchema>;
export type CompareCheck = z.output<typeof CompareCheckSchema>;

export type Decision = 'pass' | 'fail' | 'inconclusive';

/** One measurement of one check. */
export interface Measurement {
  at: string;
  decision: Decision;
  /** What was measured, readable ("0.0012", "errors 20.1 % vs 0.1 %"). */
  value?: string;
  reason?: string;
}

export type CheckState = 'running' | 'passed' | 'failed' | 'inconclusive';

/** Where a check stands after these measurements: failed or inconclusive past its limits, passed once all are taken. */
export function checkState(check: Check, measurements: readonly Measurement[]): CheckState {
  const failed = measurements.filter((m) => m.decision === 'fail').length;
  const inconclusive = measurements.filter((m) => m.decision === 'inconclusive').length;
  if (failed > check.failureLimit) return 'failed';
  if (inconclusive > check.inconclusiveLimit) return 'inconclusive';
  return measurements.length >= check.count ? 'passed' : 'running';
}

/** A sentence for the pause reason and audit trail: which check, what it measured, why it stopped. */
export function describeCheckEnd(check: Check, state: CheckState, measurements: readonly Measurement[]): string {
  const last = [...measurements].reverse().find((m) => m.decision !== 'pass') ?? measurements[measurements.length - 1];
  const bad = measurements.filter((m) => m.decision === (state === 'failed' ? 'fail' : 'inconclusive')).length;
  const what = check.type === 'prometheus' ? ` (query ${check.query})` : check.type === 'webhook' ? ` (${check.url})` : '';
  const detail = last ? `; last: ${last.value !== undefined ? `${last.value}, ` : ''}${last.reason ?? last.decision}` : '';
  if (state === 'passed') return `${check.type} check "${check.name}" passed ${measurements.length} measurements`;
  return `${check.type} check "${check.name}"${what} ${state === 'failed' ? 'failed' : 'was inconclusive'}: ${bad} of ${measurements.length} measurements ${state === 'failed' ? 'failed' : 'inconclusive'}${detail}`;
}
