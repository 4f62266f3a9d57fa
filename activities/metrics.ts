import { Counter, Registry } from 'prom-client';

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
    activityRetries: new Counter({
      name: 'barista_activity_retries_total',
      help: 'Activity attempts after the first',
      labelNames: ['activity'],
      registers: [registry],
    }),
  };
}

export type ActivityMetrics = ReturnType<typeof createActivityMetrics>;
