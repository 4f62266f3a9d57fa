import { compareRevisions, type RevisionTraffic } from '../../domain/compare-revisions.js';
import { renderTemplate, type CheckContext, type CompareCheck, type Measurement } from '../../domain/verification.js';
import { PrometheusError, type PrometheusClient, type Sample } from './prometheus-client.js';

type Outcome = Omit<Measurement, 'at'>;

/**
 * One measurement of a `compare` check: the new revision's requests, errors and latency histogram against the
 * old revision's over the same window (the pods of both serve side by side while the release is at a gate),
 * decided by domain/compare-revisions.ts.
 */
export async function measureCompareCheck(
  check: CompareCheck,
  context: CheckContext,
  prometheus: PrometheusClient | undefined,
): Promise<Outcome> {
  if (!prometheus) return { decision: 'inconclusive', reason: 'this worker has no Prometheus to ask (set BARISTA_PROMETHEUS_URL)' };
  if (context.previousRevision === undefined)
    return { decision: 'inconclusive', reason: 'nothing to compare with: the App runs no earlier revision (first release)' };
  const rev = check.revisionLabel;
  let requests: Sample[], errors: Sample[], buckets: Sample[];
  try {
    const [r, e, b] = compareQueries(check, context);
    [requests, errors, buckets] = await Promise.all([prometheus.query(r), prometheus.query(e), prometheus.query(b)]);
  } catch (err) {
    if (err instanceof PrometheusError) return { decision: 'inconclusive', reason: err.message };
    throw err;
  }
  const traffic = (revision: number): RevisionTraffic => {
    const of = (samples: Sample[]) => samples.filter((s) => s.labels[rev] === String(revision));
    const sum = (samples: Sample[]) => of(samples).reduce((total, s) => total + (Number.isFinite(s.value) ? s.value : 0), 0);
    return {
      requests: sum(requests),
      errors: sum(errors),
      buckets: of(buckets)
        .map((s) => ({ le: Number(s.labels.le), count: Number.isFinite(s.value) ? s.value : 0 }))
        .filter((b) => !Number.isNaN(b.le))
        .sort((a, b) => a.le - b.le),
    };
  };
  const result = compareRevisions(traffic(context.revision), traffic(context.previousRevision), check);
  return { decision: result.decision, value: result.value, reason: result.reason };
}

/** The three queries of a compare measurement: requests, errors, latency buckets, by revision, over the window. */
export function compareQueries(check: CompareCheck, context: CheckContext): [string, string, string] {
  const rev = check.revisionLabel;
  const matchers = `${renderTemplate(check.selector, context)},${rev}=~"${context.revision}|${context.previousRevision ?? context.revision}"`;
  const range = `[${check.windowSeconds}s]`;
  return [
    `sum by (${rev}) (increase(${check.requestsMetric}{${matchers}}${range}))`,
    `sum by (${rev}) (increase(${check.requestsMetric}{${matchers},${check.errorMatcher}}${range}))`,
    `sum by (${rev}, le) (increase(${check.latencyMetric}_bucket{${matchers}}${range}))`,
  ];
}
