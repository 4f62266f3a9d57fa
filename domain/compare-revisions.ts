import { errorFunction } from 'simple-statistics';
import type { CompareCheck, Decision } from './verification.js';

/** One revision's traffic over the compare window, as Prometheus counted it (increase() may give fractions). */
export interface RevisionTraffic {
  requests: number;
  errors: number;
  /** Cumulative latency histogram: requests at or under each bound `le` (seconds), +Inf last. */
  buckets: { le: number; count: number }[];
}

export interface Comparison {
  decision: Decision;
  value: string;
  reason: string;
}

type CompareSettings = Pick<CompareCheck, 'maxErrorRateIncrease' | 'latencyQuantile' | 'maxLatencyIncrease' | 'minRequests' | 'alpha'>;

/** P(Z > z) for a standard normal Z. */
function upperTail(z: number): number {
  return 0.5 * (1 - errorFunction(z / Math.SQRT2));
}

/**
 * Error rate: one-sided two-proportion z-test of H0 "new rate ≤ old rate + margin". Fails when H0 is rejected at
 * `alpha`, i.e. the data show the new revision worse than the old by more than the margin.
 */
export function errorRateTest(
  newer: RevisionTraffic,
  older: RevisionTraffic,
  s: CompareSettings,
): { fail: boolean; p: number; text: string } {
  const p1 = newer.errors / newer.requests;
  const p0 = older.errors / older.requests;
  const excess = p1 - p0 - s.maxErrorRateIncrease;
  const se = Math.sqrt((p1 * (1 - p1)) / newer.requests + (p0 * (1 - p0)) / older.requests);
  const p = se === 0 ? (excess > 0 ? 0 : 1) : upperTail(excess / se);
  return { fail: p < s.alpha, p, text: `errors ${pct(p1)} vs ${pct(p0)} (p=${p.toFixed(3)})` };
}

/** Per-bucket (not cumulative) counts, clamped at 0: increase() extrapolates and can dip slightly. */
function bucketCounts(buckets: RevisionTraffic['buckets']): number[] {
  let below = 0;
  return buckets.map((b) => {
    const count = Math.max(0, b.count - below);
    below = Math.max(below, b.count);
    return count;
  });
}

/** The q-quantile from a cumulative histogram, interpolating linearly inside a bucket (as histogram_quantile does). */
export function histogramQuantile(q: number, buckets: RevisionTraffic['buckets']): number {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerBound; // in the +Inf bucket: the highest finite bound
      return lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / Math.max(b.count - lowerCount, 1e-12);
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}

/**
 * Latency: one-sided Mann-Whitney U test (new slower than old) on the two histograms, requests in one bucket
 * counting as ties, with the normal approximation and tie correction; plus an effect size so that a
 * significant but negligible shift passes: the new quantile must exceed the old by more than the margin.
 */
export function latencyTest(
  newer: RevisionTraffic,
  older: RevisionTraffic,
  s: CompareSettings,
): { fail: boolean; p: number; text: string } {
  const c1 = bucketCounts(newer.buckets);
  const c0 = bucketCounts(older.buckets);
  const n1 = c1.reduce((a, b) => a + b, 0);
  const n0 = c0.reduce((a, b) => a + b, 0);
  let u = 0;
  let oldBelow = 0;
  let ties = 0;
  c1.forEach((count, i) => {
    const old = c0[i] ?? 0;
    u += count * (oldBelow + old / 2);
    oldBelow += old;
    const t = count + old;
    ties += t * t * t - t;
  });
  const n = n1 + n0;
  const variance = ((n1 * n0) / 12) * (n + 1 - ties / (n * (n - 1)));
  const p = variance > 0 ? upperTail((u - (n1 * n0) / 2) / Math.sqrt(variance)) : 1;
  const q1 = histogramQuantile(s.latencyQuantile, newer.buckets);
  const q0 = histogramQuantile(s.latencyQuantile, older.buckets);
  const slower = q1 > q0 * (1 + s.maxLatencyIncrease);
  const label = `p${Math.round(s.latencyQuantile * 100)}`;
  return { fail: p < s.alpha && slower, p, text: `${label} ${ms(q1)} vs ${ms(q0)} (p=${p.toFixed(3)})` };
}

/** Compares the new revision's traffic with the old one's over the same window: pass, fail, or inconclusive. */
export function compareRevisions(newer: RevisionTraffic, older: RevisionTraffic, s: CompareSettings): Comparison {
  const latencyCount = (t: RevisionTraffic) => t.buckets[t.buckets.length - 1]?.count ?? 0;
  const few = [
    ['new', newer.requests, latencyCount(newer)],
    ['old', older.requests, latencyCount(older)],
  ].filter(([, requests, timed]) => (requests as number) < s.minRequests || (timed as number) < s.minRequests);
  if (few.length > 0)
    return {
      decision: 'inconclusive',
      value: `requests new ${Math.round(newer.requests)}, old ${Math.round(older.requests)}`,
      reason: `too little traffic to compare: the ${few.map(([w]) => w).join(' and ')} revision served fewer than ${s.minRequests} requests in the window`,
    };
  const errors = errorRateTest(newer, older, s);
  const latency = latencyTest(newer, older, s);
  const value = `${errors.text}; ${latency.text}`;
  const failures = [
    errors.fail ? `error rate above the old revision's by more than ${pct(s.maxErrorRateIncrease)}` : undefined,
    latency.fail
      ? `${Math.round(s.latencyQuantile * 100)}th percentile latency more than ${Math.round(s.maxLatencyIncrease * 100)} % above the old revision's`
      : undefined,
  ].filter((f): f is string => f !== undefined);
  if (failures.length > 0) return { decision: 'fail', value, reason: `new revision worse: ${failures.join('; ')}` };
  return { decision: 'pass', value, reason: 'new revision within the margins of the old one' };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function ms(seconds: number): string {
  return Number.isNaN(seconds) ? 'n/a' : `${Math.round(seconds * 1000)} ms`;
}
