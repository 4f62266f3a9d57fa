import { Counter, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of the worker's activities: pods changed, and retries (an attempt after the first). */
export function createActivityMetrics(registry = new Registry()) {
  return {
    registry,
    podsChanged: new Counter({
      name: 'barista_pods_changed_total',
      help: 'Pods moved to a revision by a release',
      labelNames: ['app', 'cell'],
      registers: [registry],
    }),
    kubeRequests: new Counter({
      name: 'barista_kube_requests_total',
      help: 'Kubernetes API requests this process sent (activities, gate keepers, leases) by HTTP method; APPLY for server-side apply',
      labelNames: ['cluster', 'verb'],
      registers: [registry],
    }),
    driftFound: new Counter({
      name: 'barista_drift_found_total',
      help: 'Fields found drifted by drift repair runs (dry runs included)',
      labelNames: ['tenant', 'app'],
      registers: [registry],
    }),
    driftRepaired: new Counter({
      name: 'barista_drift_repaired_total',
      help: 'Drifted fields drift repair put back',
      labelNames: ['tenant', 'app'],
      registers: [registry],
    }),
    driftRunSeconds: new Histogram({
      name: 'barista_drift_run_seconds',
      help: 'Duration of drift repair runs',
      labelNames: ['tenant', 'dry_run'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    detachedHeartbeats: new Counter({
      name: 'barista_detached_heartbeats_total',
      help: 'Heartbeats the long waits (detached activity attempts) sent to Temporal',
      registers: [registry],
    }),
    activityRetries: new Counter({
      name: 'barista_activity_retries_total',
      help: 'Activity attempts after the first',
      labelNames: ['activity'],
      registers: [registry],
    }),
  };
}

export type ActivityMetrics = ReturnType<typeof createActivityMetrics>;
