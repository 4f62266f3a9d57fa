import { probit } from 'simple-statistics';
import { compileCondition, ConditionError } from '../../../domain/check-condition.js';
import { compareRevisions, histogramQuantile, type RevisionTraffic } from '../../../domain/compare-revisions.js';
import {
  CheckSchema,
  ChecksSchema,
  CompareCheckSchema,
  checkState,
  renderTemplate,
  StrategySchema,
  type Check,
  type CheckContext,
  type Measurement,
} from '../../../domain/index.js';

const ctx: CheckContext = {
  tenant: 'acme',
  app: 'pay',
  namespace: 'acme-pay',
  revision: 7,
  previousRevision: 6,
  group: 1,
  cells: ['rz01a', 'rz01b'],
  pods: ['pay-rz01a-3', 'pay-rz01b-3'],
  releaseId: 'release/acme/pay',
};

describe('conditions', () => {
  test('a comparison over result compiles and decides', () => {
    const c = compileCondition('result < 0.01');
    expect([c(0.001), c(0.01), c(0.5)]).toEqual([true, false, false]);
    expect(compileCondition('result >= 0.99 and result <= 1')(0.995)).toBe(true);
  });
  test.each([
    ['result <', /does not parse/],
    ['answer < result', /Property "answer" does not exist/],
    ['result', /must be a comparison that is true or false/],
    ['result * 2', /must be a comparison/],
    ['1 < 2', /must compare result/],
    ['constructor.constructor("return process")() or result < 1', /./],
  ])('%s is refused', (text, message) => {
    expect(() => compileCondition(text)).toThrow(ConditionError);
    expect(() => compileCondition(text)).toThrow(message);
  });
});

describe('check schema', () => {
  test('defaults: 3 measurements 10 s apart, no failure or inconclusive tolerated', () => {
    const check = CheckSchema.parse({ type: 'prometheus', name: 'errors', query: 'up', successCondition: 'result == 1' });
    expect(check).toMatchObject({ intervalSeconds: 10, count: 3, failureLimit: 0, inconclusiveLimit: 0, initialDelaySeconds: 0 });
    const compare = CompareCheckSchema.parse({ type: 'compare', name: 'vs-old' });
    expect(compare).toMatchObject({
      requestsMetric: 'http_requests_total',
      latencyMetric: 'http_request_duration_seconds',
      selector: 'namespace="{{namespace}}",app="{{app}}"',
      maxErrorRateIncrease: 0.01,
      latencyQuantile: 0.9,
      maxLatencyIncrease: 0.2,
      minRequests: 100,
      alpha: 0.05,
    });
  });

  test.each([
    [{ type: 'prometheus', name: 'x', query: '', successCondition: 'result < 1' }, 'query', /must not be empty/],
    [{ type: 'prometheus', name: 'x', query: 'up', successCondition: 'result <' }, 'successCondition', /does not parse/],
    [{ type: 'prometheus', name: 'x', query: 'up', successCondition: 'result < 1', intervalSeconds: 0 }, 'intervalSeconds', /more than 0/],
    [{ type: 'prometheus', name: 'x', query: 'up', successCondition: 'result < 1', count: 0 }, 'count', /at least 1/],
    [
      { type: 'prometheus', name: 'x', query: 'up{pod="{{pod}}"}', successCondition: 'result < 1' },
      'query',
      /unknown placeholder \{\{pod\}\}; known: .*\{\{pods\}\}/,
    ],
    [{ type: 'webhook', name: 'x', url: 'file:///etc/passwd' }, 'url', /http:\/\/ or https:\/\//],
    [{ type: 'webhook', name: 'x', url: 'not a url' }, 'url', /http:\/\/ or https:\/\//],
    [{ type: 'webhook', name: 'Bad Name', url: 'http://x' }, 'name', /lowercase/],
    [{ type: 'compare', name: 'x', latencyQuantile: 1 }, 'latencyQuantile', /./],
    [{ type: 'prometheus', name: 'x', query: 'up', successCondition: 'result < 1', extra: 1 }, '', /extra/],
  ])('%j is refused at %s', (input, field, message) => {
    const result = CheckSchema.safeParse(input);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path.join('.')).toBe(field);
    expect(issue.message).toMatch(message);
  });

  test('check names are unique within a gate; checks sit on auto and manual gates, not timed ones', () => {
    const a = { type: 'webhook', name: 'a', url: 'http://x' };
    expect(ChecksSchema.safeParse([a, a]).error?.issues[0]).toMatchObject({ path: [1, 'name'], message: 'check name "a" is used twice' });
    expect(StrategySchema.safeParse({ gate: { type: 'auto', checks: [a] } }).success).toBe(true);
    expect(StrategySchema.safeParse({ gate: { type: 'manual', checks: [a] } }).success).toBe(true);
    expect(StrategySchema.safeParse({ gate: { type: 'timed', seconds: 5, checks: [a] } }).success).toBe(false);
  });
});

test('templates fill the release context; lists become regex alternations', () => {
  expect(renderTemplate('rate(x{app="{{app}}",pod=~"{{ pods }}",revision="{{revision}}"}[1m]) {{previousRevision}} {{cells}}', ctx)).toBe(
    'rate(x{app="pay",pod=~"pay-rz01a-3|pay-rz01b-3",revision="7"}[1m]) 6 rz01a|rz01b',
  );
});

describe('measurements add up to a check state', () => {
  const check = CheckSchema.parse({
    type: 'webhook',
    name: 'w',
    url: 'http://x',
    count: 3,
    failureLimit: 1,
    inconclusiveLimit: 0,
  }) as Check;
  const m = (...d: Measurement['decision'][]): Measurement[] => d.map((decision) => ({ at: '', decision }));
  test.each([
    [m(), 'running'],
    [m('pass', 'pass'), 'running'],
    [m('pass', 'pass', 'pass'), 'passed'],
    [m('fail', 'pass', 'pass'), 'passed'],
    [m('fail', 'fail'), 'failed'],
    [m('inconclusive'), 'inconclusive'],
  ])('%j → %s', (measurements, state) => expect(checkState(check, measurements)).toBe(state));
});

describe('compare: new revision against the old one', () => {
  const settings = CompareCheckSchema.parse({ type: 'compare', name: 'c' });
  /** A cumulative histogram of `n` requests from a log-normal latency (median seconds), deterministic. */
  function traffic(n: number, errorRate: number, median: number, extra = 0): RevisionTraffic {
    const bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, Infinity];
    const counts = bounds.map(() => 0);
    for (let i = 0; i < n; i++) {
      // the normal quantiles of an even grid: the same "sample" every run
      const z = probit((i + 0.5) / n);
      const latency = median * Math.exp(0.35 * z) + extra;
      counts[bounds.findIndex((b) => latency <= b)]!++;
    }
    let cumulative = 0;
    return {
      requests: n,
      errors: Math.round(n * errorRate),
      buckets: bounds.map((le, i) => ({ le, count: (cumulative += counts[i]!) })),
    };
  }

  test('the same behaviour passes', () => {
    expect(compareRevisions(traffic(2000, 0.001, 0.025), traffic(6000, 0.001, 0.025), settings)).toMatchObject({ decision: 'pass' });
  });
  test('20 % errors against 0.1 % fails on the error rate', () => {
    const r = compareRevisions(traffic(2000, 0.2, 0.025), traffic(6000, 0.001, 0.025), settings);
    expect(r.decision).toBe('fail');
    expect(r.reason).toMatch(/error rate above the old revision's by more than 1.00%/);
    expect(r.value).toMatch(/^errors 20.00% vs 0.10%/);
  });
  test('0.5 points more errors is within the default 1-point margin', () => {
    expect(compareRevisions(traffic(5000, 0.006, 0.025), traffic(5000, 0.001, 0.025), settings).decision).toBe('pass');
  });
  test('200 ms slower fails on latency, though its p90 stays under a loose fixed threshold of 1 s', () => {
    const slow = traffic(2000, 0.001, 0.025, 0.2);
    const r = compareRevisions(slow, traffic(6000, 0.001, 0.025), settings);
    expect(r.decision).toBe('fail');
    expect(r.reason).toMatch(/90th percentile latency more than 20 % above/);
    expect(histogramQuantile(0.9, slow.buckets)).toBeLessThan(1);
  });
  test('a small but significant shift under the margin passes', () => {
    expect(compareRevisions(traffic(20000, 0.001, 0.026), traffic(20000, 0.001, 0.025), settings).decision).toBe('pass');
  });
  test('too little traffic on either side is inconclusive', () => {
    const r = compareRevisions(traffic(40, 0.001, 0.025), traffic(6000, 0.001, 0.025), settings);
    expect(r).toMatchObject({
      decision: 'inconclusive',
      reason: expect.stringMatching(/too little traffic.*the new revision served fewer than 100/),
    });
  });
  test('histogramQuantile interpolates inside the bucket like PromQL', () => {
    const buckets = [
      { le: 0.1, count: 50 },
      { le: 0.2, count: 100 },
      { le: Infinity, count: 100 },
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.75, buckets)).toBeCloseTo(0.15);
  });
});
