import type { InjectedSinks } from '@temporalio/worker';
import { Histogram, type Registry } from 'prom-client';
import type { ReleaseSinks } from '../workflows/release-sinks.js';

const GATE_WAIT = 'barista_gate_wait_seconds';

/** The worker's side of the release workflow's metric sinks: observations land in `registry`. */
export function createReleaseMetricSinks(registry: Registry): InjectedSinks<ReleaseSinks> {
  const gateWait =
    (registry.getSingleMetric(GATE_WAIT) as Histogram<'tenant' | 'app' | 'gate' | 'outcome'> | undefined) ??
    new Histogram({
      name: GATE_WAIT,
      help: 'Time a release waited at a gate (approval, verification window or timed pause), by outcome',
      labelNames: ['tenant', 'app', 'gate', 'outcome'],
      // gates range from a few seconds of verification to a day waiting for an approver
      buckets: [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600],
      registers: [registry],
    });
  return {
    releaseMetrics: {
      gateWaited: {
        fn: (_info, { tenant, app, gate, outcome, seconds }) => gateWait.observe({ tenant, app, gate, outcome }, seconds),
        callDuringReplay: false,
      },
    },
  };
}
