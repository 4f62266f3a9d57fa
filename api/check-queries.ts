import { PrometheusError } from '../activities/checks/prometheus-client.js';
import { compareQueries } from '../activities/checks/compare-check.js';
import { DomainError, renderTemplate, type CheckContext, type FieldIssue, type Strategy } from '../domain/index.js';
import { UnavailableError } from './errors.js';

/** Prometheus' own PromQL parser (activities/checks/prometheus-client.ts). */
export interface QueryParser {
  readonly url: string;
  parse(promql: string): Promise<void>;
}

/** A stand-in release context: the queries are parsed with placeholders filled as a real release fills them. */
const SAMPLE: CheckContext = {
  tenant: 'tenant',
  app: 'app',
  namespace: 'namespace',
  revision: 2,
  previousRevision: 1,
  group: 0,
  cells: ['cell-a', 'cell-b'],
  pods: ['app-cell-a-0', 'app-cell-b-0'],
  releaseId: 'release/tenant/app',
};

/**
 * Refuses a strategy whose checks' PromQL does not parse, before anything starts: each `prometheus` query and the
 * queries a `compare` check builds from its metrics, selector and matcher, by the Prometheus server's own parser.
 * Without a Prometheus configured the API cannot tell; the check is then judged at the gate (inconclusive: pause).
 */
export async function ensureCheckQueriesParse(
  strategy: Strategy | undefined,
  prometheus: QueryParser | undefined,
  field = 'strategy',
): Promise<void> {
  const checks = strategy?.gate.type === 'timed' ? undefined : strategy?.gate.checks;
  if (!checks || !prometheus) return;
  const issues: FieldIssue[] = [];
  for (const [i, check] of checks.entries()) {
    const at = `${field}.gate.checks[${i}]`;
    const queries: [string, string][] =
      check.type === 'prometheus'
        ? [[`${at}.query`, renderTemplate(check.query, SAMPLE)]]
        : check.type === 'compare'
          ? compareQueries(check, SAMPLE).map((q) => [`${at} (selector, metrics and errorMatcher)`, q])
          : [];
    for (const [path, query] of queries) {
      try {
        await prometheus.parse(query);
      } catch (err) {
        if (err instanceof PrometheusError && err.code === 'BAD_QUERY') {
          issues.push({ field: path, message: `${err.message.replace(/^Prometheus refused the query: /, 'not valid PromQL: ')}` });
          break;
        }
        const reason = err instanceof Error ? err.message : String(err);
        throw new UnavailableError(`Prometheus at ${prometheus.url}`, `cannot check the PromQL of ${path}: ${reason}`);
      }
    }
  }
  if (issues.length > 0) throw DomainError.invalid(issues);
}
