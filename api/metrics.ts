import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReleaseClient } from './release-client.js';

/** Prometheus metrics of the API process: requests, operator actions, and releases by state (read from Temporal on scrape). */
export function createApiMetrics(releases: ReleaseClient) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'barista_api_' });
  const requests = new Counter({
    name: 'barista_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const actions = new Counter({
    name: 'barista_release_actions_total',
    help: 'Release starts and operator actions accepted',
    labelNames: ['action'],
    registers: [registry],
  });
  new Gauge({
    name: 'barista_releases',
    help: 'Releases by state (running, waiting-approval, paused, succeeded, aborted, ...), from Temporal visibility',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      for (const [state, count] of Object.entries(await releases.countReleasesByState())) this.set({ state }, count);
    },
  });
  return { registry, requests, actions };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
