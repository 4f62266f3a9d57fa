import { SandboxError } from '../../../sandbox/errors.js';
import { prometheusConfig } from '../../../sandbox/prometheus.js';
import { prometheusRelease } from '../../../sandbox/provision/prometheus.js';
import {
  BASE_ERROR_RATIO,
  RevisionFaults,
  errorProbability,
  requestsDue,
  sampleLatencySeconds,
  simulateRequests,
} from '../../../sandbox/traffic/request-model.js';

/** A seeded uniform source (mulberry32), so that the statistics below are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;

describe('simulated latency', () => {
  test('is log-normal with a 25 ms median and sigma 0.35', () => {
    const random = seeded(1);
    const samples = Array.from({ length: 100_000 }, () => sampleLatencySeconds(random)).sort((a, b) => a - b);
    expect(quantile(samples, 0.5)).toBeCloseTo(0.025, 3);
    const logs = samples.map(Math.log);
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length);
    expect(mean).toBeCloseTo(Math.log(0.025), 2);
    expect(sd).toBeCloseTo(0.35, 2);
    // p99 of a log-normal: median × e^(2.326 σ) ≈ 56 ms
    expect(quantile(samples, 0.99)).toBeGreaterThan(0.05);
    expect(quantile(samples, 0.99)).toBeLessThan(0.062);
    expect(samples[0]).toBeGreaterThan(0);
  });

  test("a fault's latency is added to every request", () => {
    const random = seeded(2);
    const samples = Array.from({ length: 20_000 }, () => sampleLatencySeconds(random, 200)).sort((a, b) => a - b);
    expect(quantile(samples, 0.5)).toBeCloseTo(0.225, 3);
    expect(samples[0]).toBeGreaterThan(0.2);
  });
});

describe('simulated errors', () => {
  test('0.1 % without a fault, 0.1 % + the fault percentage with one, never above 1', () => {
    expect(errorProbability(undefined)).toBe(BASE_ERROR_RATIO);
    expect(errorProbability({ errorPercent: 50 })).toBeCloseTo(0.501, 10);
    expect(errorProbability({ errorPercent: 100 })).toBe(1);
    const healthy = simulateRequests(200_000, undefined, seeded(3));
    expect(healthy.filter((r) => !r.ok).length / healthy.length).toBeCloseTo(0.001, 3);
    const bad = simulateRequests(50_000, { app: 'a', revision: '2', errorPercent: 20, latencyMs: 0 }, seeded(4));
    expect(bad.filter((r) => !r.ok).length / bad.length).toBeCloseTo(0.201, 2);
  });

  test('requests per tick carry their fraction over, so the long-run rate is exact', () => {
    let carry = 0;
    let total = 0;
    for (let i = 0; i < 1000; i++) {
      const due = requestsDue(7, 130, carry); // 0.91 request per tick
      carry = due.carry;
      total += due.count;
    }
    expect(total).toBe(910);
    expect(requestsDue(0, 250, 0)).toEqual({ count: 0, carry: 0 });
  });
});

describe('revision faults', () => {
  test('a namespaced fault wins over one for every namespace; other revisions and apps are untouched', () => {
    const faults = new RevisionFaults();
    faults.set({ app: 'pay', revision: 3, errorPercent: 20 });
    faults.set({ namespace: 'acme-prod', app: 'pay', revision: '3', latencyMs: 200 });
    expect(faults.lookup('acme-prod', 'pay', '3')).toEqual({
      namespace: 'acme-prod',
      app: 'pay',
      revision: '3',
      errorPercent: 0,
      latencyMs: 200,
    });
    expect(faults.lookup('other', 'pay', '3')).toEqual({ app: 'pay', revision: '3', errorPercent: 20, latencyMs: 0 });
    expect(faults.lookup('acme-prod', 'pay', '2')).toBeUndefined();
    expect(faults.lookup('acme-prod', 'shop', '3')).toBeUndefined();
    faults.clear({ namespace: 'acme-prod', app: 'pay', revision: 3 });
    expect(faults.lookup('acme-prod', 'pay', '3')?.errorPercent).toBe(20);
    faults.clear({ app: 'pay', revision: '3' });
    expect(faults.list()).toEqual([]);
  });

  test('setting the same target again replaces the fault', () => {
    const faults = new RevisionFaults();
    faults.set({ app: 'pay', revision: '3', errorPercent: 20 });
    faults.set({ app: 'pay', revision: '3', errorPercent: 5, latencyMs: 10 });
    expect(faults.list()).toEqual([{ app: 'pay', revision: '3', errorPercent: 5, latencyMs: 10 }]);
  });

  test.each([
    [{ app: 'pay', revision: '3', errorPercent: 101 }, 'errorPercent'],
    [{ app: 'pay', revision: '3', errorPercent: -1 }, 'errorPercent'],
    [{ app: 'pay', revision: '3', latencyMs: 60_001 }, 'latencyMs'],
    [{ app: 'pay', revision: '3' }, 'errorPercent'],
    [{ app: '', revision: '3', errorPercent: 1 }, 'app'],
    [{ app: 'pay', errorPercent: 1 }, 'revision'],
    [{ app: 'pay', revision: '3', errorPercent: 1, colour: 'red' }, 'colour'],
  ])('refuses %j naming %s', (input, field) => {
    const faults = new RevisionFaults();
    let error: unknown;
    try {
      faults.set(input as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxError).code).toBe('INVALID_INPUT');
    expect((error as SandboxError).message).toContain(field);
    expect(faults.list()).toEqual([]);
  });

  test('clearing a fault that is not set is an UNKNOWN_TARGET error naming what is set', () => {
    const faults = new RevisionFaults();
    faults.set({ app: 'pay', revision: '3', errorPercent: 20 });
    expect(() => faults.clear({ namespace: 'acme-prod', app: 'pay', revision: '3' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_TARGET', message: expect.stringContaining('*/pay@3') }),
    );
  });
});

describe('Prometheus build and configuration', () => {
  test('the module version maps to the Prometheus release', () => {
    expect(prometheusRelease('v0.316.0')).toBe('3.16.0');
    expect(prometheusRelease('v0.301.2')).toBe('3.1.2');
    expect(() => prometheusRelease('v2.53.0')).toThrow(/v0\.3MM\.P/);
  });

  test('scrapes the request metrics every second', () => {
    const config = prometheusConfig(['127.0.0.1:4321']);
    expect(config).toContain('scrape_interval: 1s');
    expect(config).toContain('- targets: ["127.0.0.1:4321"]');
  });
});
