import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import {
  AuditStore,
  Clusters,
  createActivities,
  createActivityMetrics,
  createReleaseQueueActivities,
  createNotificationActivities,
  DetachedAttempts,
  PrometheusClient,
  type ActivityMetrics,
  type NotificationLinks,
} from '../activities/index.js';
import { positiveIntFromEnv } from './kube/deadlines.js';
import { createReleaseMetricSinks } from './release-metrics.js';

export const DEFAULT_TASK_QUEUE = 'barista';

/**
 * Activities one worker runs at once in its slots. The long waits (pod steps, auto gate windows) hand their slot
 * back at once and go on detached (activities/detached.ts): a waiting pod step costs a listener on the shared pod
 * watch, a heartbeat every 5 s and a read every 10 s, not a slot. The slots bound the short steps.
 */
export const MAX_CONCURRENT_ACTIVITIES = positiveIntFromEnv('BARISTA_MAX_CONCURRENT_ACTIVITIES', 200);

export interface WorkerOptions {
  /** Temporal frontend, host:port. */
  temporalAddress: string;
  namespace?: string;
  taskQueue?: string;
  /** Kubeconfig with one context per cluster, named after the cluster. */
  kubeconfig: string;
  logger: Logger;
  /** Test-only: do not wait for traffic components (shows that the traffic counter sees loss). */
  skipDrainForTests?: boolean;
  /** Where the worker's Prometheus metrics go: activities' counters and the workflows' gate wait times. */
  metrics?: ActivityMetrics;
  /** Activity slots (MAX_CONCURRENT_ACTIVITIES by default). */
  maxConcurrentActivities?: number;
  /** PostgreSQL of the durable audit record (docs/audit.md); without it, audit entries stay in the workflows only. */
  auditDatabaseUrl?: string;
  /** Prometheus that `prometheus` and `compare` gate checks query (docs/verification.md). */
  prometheusUrl?: string;
  /** Secret verification webhooks are signed with (never logged). */
  webhookSecret?: string;
  /**
   * Where notifications link to (docs/notifications.md): the API's public URL and the Temporal UI. Read at each
   * delivery, so a caller that learns an address later (the sandbox's API port) may fill it in then.
   */
  notificationLinks?: NotificationLinks;
  /**
   * Clusters served by agents (domain/cluster-queues.ts): releases started from now on send their steps there to
   * `barista-cluster-<name>`, polled by that cluster's agent (worker/agent.ts). None by default: every cluster direct.
   */
  agentClusters?: readonly string[];
}

export interface BaristaWorker {
  worker: Worker;
  connection: NativeConnection;
  clusters: Clusters;
  /** Long waits running without a slot (activities/detached.ts). */
  detached: DetachedAttempts;
  /**
   * Once `worker.run()` has resolved: hands the detached waits back to Temporal (retried at once by a worker still
   * running) and ends the shared watches. The connection is the caller's to close, after this.
   */
  stopAfterRun(): Promise<void>;
}

/** A Temporal worker running Barista's workflows and activities against the clusters of `kubeconfig`. */
export async function createWorker(opts: WorkerOptions): Promise<BaristaWorker> {
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  const metrics = opts.metrics ?? createActivityMetrics();
  const namespace = opts.namespace ?? 'default';
  // the release queue's activities start and await releases: a client on the worker's own connection
  const temporal = new Client({ connection, namespace });
  const clusters = new Clusters(opts.kubeconfig);
  // the waits complete their activities through the same client
  const detached = new DetachedAttempts(temporal.activity, opts.logger, metrics.detachedHeartbeats);
  const audit = opts.auditDatabaseUrl ? await AuditStore.open(opts.auditDatabaseUrl) : undefined;
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: {
      ...createActivities({
        clusters,
        logger: opts.logger,
        skipDrainForTests: opts.skipDrainForTests ?? false,
        metrics,
        detached,
        ...(audit ? { audit } : {}),
        verification: {
          ...(opts.prometheusUrl ? { prometheus: new PrometheusClient(opts.prometheusUrl) } : {}),
          ...(opts.webhookSecret ? { webhookSecret: opts.webhookSecret } : {}),
        },
      }),
      ...createReleaseQueueActivities(temporal, { agentClusters: opts.agentClusters ?? [] }),
      ...createNotificationActivities({ links: opts.notificationLinks ?? {}, namespace, logger: opts.logger }),
    },
    sinks: createReleaseMetricSinks(metrics.registry),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? MAX_CONCURRENT_ACTIVITIES,
  });
  return {
    worker,
    connection,
    clusters,
    detached,
    async stopAfterRun() {
      await detached.stop();
      await clusters.stop();
      await audit?.close();
    },
  };
}
