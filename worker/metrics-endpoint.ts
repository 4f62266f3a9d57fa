import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { createActivityMetrics, type ActivityMetrics } from '../activities/index.js';
import { observeKubeRequests } from './kube/api-client.js';

/**
 * The worker's metrics (activities, gate waits) plus every request this process sends to a cluster, by verb: what
 * Barista itself costs the API servers. In `npm start` the same process runs the simulated kubelets, so theirs count too.
 */
export function createWorkerMetrics(): ActivityMetrics {
  const metrics = createActivityMetrics();
  observeKubeRequests((r) =>
    metrics.kubeRequests.inc({ cluster: r.cluster, verb: r.contentType === 'application/apply-patch+yaml' ? 'APPLY' : r.method }),
  );
  return metrics;
}

export interface MetricsEndpoint {
  /** `http://<host>:<port>/metrics` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` in Prometheus' text format on `host:port` (0: a free port), at `/metrics` and, as before, any
 * other path. Resolves once listening; a port in use rejects with EADDRINUSE.
 */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsEndpoint> {
  const server = http.createServer((_req, res) => {
    void registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
