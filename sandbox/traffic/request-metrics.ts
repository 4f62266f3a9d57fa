import http from 'node:http';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { LABELS } from '../../activities/labels.js';
import { makeApiClient } from '../../worker/kube/api-client.js';
import { startResilientInformer, type ResilientInformer } from '../../worker/kube/resilient-informer.js';
import { SandboxError } from '../errors.js';
import { TrafficGenerator } from './generator.js';
import { RevisionFaults, requestsDue, simulateRequests } from './request-model.js';

/** Latency buckets of `http_request_duration_seconds` (seconds). */
export const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5];

export const DEFAULT_REQUESTS_PER_SECOND_PER_POD = 20;
const TICK_MS = 250;

const SERIES_LABELS = ['namespace', 'app', 'pod', 'cell', 'cluster', 'revision'] as const;
type SeriesLabels = Record<(typeof SERIES_LABELS)[number], string>;

export interface RequestMetricsOptions {
  clusters: { name: string; kubeConfig: KubeConfig }[];
  /** Requests each serving, routed pod receives per second; 0 simulates nothing (no pod watch, an empty /metrics). */
  requestsPerSecondPerPod: number;
  port: number;
  logger: Logger;
  /** Uniform source on [0, 1) (tests make it deterministic). */
  random?: () => number;
}

/** One pod's series and what is left over from its last tick. */
interface Tracked {
  labels: SeriesLabels;
  key: string;
  carry: number;
}

/**
 * The sandbox's request traffic, as a service mesh or the apps themselves would report it to Prometheus: every
 * pod labelled `barista.dev/app`, in every namespace of every cluster, that is serving and routed (the rules of
 * TrafficGenerator) receives `requestsPerSecondPerPod` simulated requests, each failing with 0.1 % probability
 * (plus a revision fault's percentage) and taking a log-normal latency (plus the fault's). No request is really
 * sent or waited for: only the counters and histograms move. Served on `http://127.0.0.1:<port>/metrics`.
 */
export class RequestMetrics {
  readonly faults = new RevisionFaults();
  private readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly informers: { cluster: string; informer: ResilientInformer<V1Pod> }[] = [];
  private readonly tracked = new Map<string, Tracked>();
  private readonly random: () => number;
  private server: http.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;

  constructor(private readonly opts: RequestMetricsOptions) {
    const rps = opts.requestsPerSecondPerPod;
    if (!Number.isFinite(rps) || rps < 0 || rps > 10_000)
      throw new SandboxError('INVALID_INPUT', `requestMetrics.requestsPerSecondPerPod must be a number from 0 to 10000, got ${rps}`);
    this.random = opts.random ?? Math.random;
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'Simulated requests served by each pod, by status code',
      labelNames: [...SERIES_LABELS, 'code'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Simulated latency of the requests served by each pod',
      labelNames: [...SERIES_LABELS],
      buckets: REQUEST_DURATION_BUCKETS,
      registers: [this.registry],
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}/metrics`;
  }

  /** Host and port, as a Prometheus scrape target. */
  get target(): string {
    return `127.0.0.1:${this.opts.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('only GET /metrics here\n');
        return;
      }
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${String(err)}\n`);
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, '127.0.0.1', () => resolve());
    });
    if (this.opts.requestsPerSecondPerPod === 0) return;
    for (const { name, kubeConfig } of this.opts.clusters) {
      const core = makeApiClient(kubeConfig, CoreV1Api);
      const informer = startResilientInformer<V1Pod>(
        kubeConfig,
        '/api/v1/pods',
        () => core.listPodForAllNamespaces({ labelSelector: LABELS.app }),
        {
          onChange: () => undefined,
          onError: (err) => this.opts.logger.debug({ cluster: name, err: String(err) }, 'request metrics: pod watch interrupted'),
        },
        { labelSelector: LABELS.app },
      );
      this.informers.push({ cluster: name, informer });
    }
    await Promise.all(this.informers.map((i) => i.informer.synced));
    this.lastTick = Date.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.informers.map((i) => i.informer.stop()));
    this.informers.length = 0;
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Simulates the requests of the time since the last tick, and drops the series of pods that are gone. */
  tick(now = Date.now()): void {
    const elapsed = Math.min(now - this.lastTick, 5_000); // a stalled event loop does not make a burst
    this.lastTick = now;
    const seen = new Set<string>();
    for (const { cluster, informer } of this.informers) {
      for (const pod of informer.cache.list()) {
        const key = `${cluster}/${pod.metadata?.namespace}/${pod.metadata?.name}`;
        seen.add(key);
        const labels = seriesLabels(cluster, pod);
        let t = this.tracked.get(key);
        if (t && !sameLabels(t.labels, labels)) {
          this.removeSeries(t); // relabelled in place (a new revision): the old series end
          t = undefined;
        }
        if (!TrafficGenerator.serving(pod) || !TrafficGenerator.routed(pod)) continue;
        if (!t) {
          t = { labels, key, carry: 0 };
          this.tracked.set(key, t);
          // both codes exist from the start, so that an error ratio is 0 (not "no data") until the first error
          this.requests.labels({ ...labels, code: '200' }).inc(0);
          this.requests.labels({ ...labels, code: '500' }).inc(0);
        }
        this.simulate(t, elapsed);
      }
    }
    for (const t of this.tracked.values()) if (!seen.has(t.key)) this.removeSeries(t);
  }

  private simulate(t: Tracked, elapsedMs: number): void {
    const due = requestsDue(this.opts.requestsPerSecondPerPod, elapsedMs, t.carry);
    t.carry = due.carry;
    if (due.count === 0) return;
    const fault = this.faults.lookup(t.labels.namespace, t.labels.app, t.labels.revision);
    const histogram = this.duration.labels(t.labels);
    let ok = 0;
    let failed = 0;
    for (const r of simulateRequests(due.count, fault, this.random)) {
      if (r.ok) ok++;
      else failed++;
      histogram.observe(r.latencySeconds);
    }
    if (ok > 0) this.requests.labels({ ...t.labels, code: '200' }).inc(ok);
    if (failed > 0) this.requests.labels({ ...t.labels, code: '500' }).inc(failed);
  }

  private removeSeries(t: Tracked): void {
    this.requests.remove({ ...t.labels, code: '200' });
    this.requests.remove({ ...t.labels, code: '500' });
    this.duration.remove(t.labels);
    this.tracked.delete(t.key);
  }

  /** The exposition text (tests, debugging). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

function seriesLabels(cluster: string, pod: V1Pod): SeriesLabels {
  const l = pod.metadata?.labels ?? {};
  return {
    namespace: pod.metadata?.namespace ?? '',
    app: l[LABELS.app] ?? '',
    pod: pod.metadata?.name ?? '',
    cell: l[LABELS.cell] ?? '',
    cluster,
    revision: l[LABELS.revision] ?? '',
  };
}

function sameLabels(a: SeriesLabels, b: SeriesLabels): boolean {
  return SERIES_LABELS.every((k) => a[k] === b[k]);
}
