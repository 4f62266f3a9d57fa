import { compileCondition } from '../../domain/check-condition.js';
import { renderTemplate, type CheckContext, type Decision, type Measurement, type PrometheusCheck } from '../../domain/verification.js';
import { PrometheusError, type PrometheusClient, type Sample } from './prometheus-client.js';

type Outcome = Omit<Measurement, 'at'>;

/**
 * One measurement of a `prometheus` check: the templated query's value(s) against the conditions. No data, NaN
 * (e.g. a ratio with no requests) and an unreachable Prometheus are inconclusive, never a pass.
 */
export async function measurePrometheusCheck(
  check: PrometheusCheck,
  context: CheckContext,
  prometheus: PrometheusClient | undefined,
): Promise<Outcome> {
  if (!prometheus) return { decision: 'inconclusive', reason: 'this worker has no Prometheus to ask (set BARISTA_PROMETHEUS_URL)' };
  const query = renderTemplate(check.query, context);
  let samples: Sample[];
  try {
    samples = await prometheus.query(query);
  } catch (err) {
    if (err instanceof PrometheusError) return { decision: 'inconclusive', reason: err.message };
    throw err;
  }
  if (samples.length === 0) return { decision: 'inconclusive', reason: `no data: the query matched no series (${query})` };
  const success = compileCondition(check.successCondition);
  const failure = check.failureCondition === undefined ? undefined : compileCondition(check.failureCondition);
  const judged = samples.map((s) => ({ ...s, decision: judge(s.value, success, failure) }));
  const worst = judged.find((s) => s.decision === 'fail') ?? judged.find((s) => s.decision === 'inconclusive') ?? judged[0]!;
  const value =
    samples.length === 1 ? format(worst.value) : `${format(worst.value)} at ${labelText(worst.labels)} (${samples.length} series)`;
  const reasons: Record<Decision, string> = {
    pass: `${check.successCondition} holds`,
    fail: `${check.successCondition} does not hold${failure ? ` and ${check.failureCondition} does` : ''}`,
    inconclusive: Number.isNaN(worst.value)
      ? 'the query gave NaN (no traffic in its range?)'
      : `neither ${check.successCondition} nor ${check.failureCondition} holds`,
  };
  return { decision: worst.decision, value, reason: reasons[worst.decision] };
}

function judge(value: number, success: (v: number) => boolean, failure: ((v: number) => boolean) | undefined): Decision {
  if (Number.isNaN(value)) return 'inconclusive';
  if (success(value)) return 'pass';
  if (failure && !failure(value)) return 'inconclusive';
  return 'fail';
}

function format(value: number): string {
  return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : value.toPrecision(4);
}

function labelText(labels: Record<string, string>): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `{${text}}`;
}
