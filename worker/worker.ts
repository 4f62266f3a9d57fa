import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import {
  Clusters,
  createActivities,
  createActivityMetrics,
  createReleaseQueueActivities,
  type ActivityMetrics,
} from '../activities/index.js';
import { createReleaseMetricSinks } from './release-metrics.js';

export const DEFAULT_TASK_QUEUE = 'barista';

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
}

/** A Temporal worker running Barista's workflows and activities against the clusters of `kubeconfig`. */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  const metrics = opts.metrics ?? createActivityMetrics();
  const namespace = opts.namespace ?? 'default';
  // the release queue's activities start and await releases: a client on the worker's own connection
  const temporal = new Client({ connection, namespace });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: {
      ...createActivities({
        clusters: new Clusters(opts.kubeconfig),
        logger: opts.logger,
        skipDrainForTests: opts.skipDrainForTests ?? false,
        metrics,
      }),
      ...createReleaseQueueActivities(temporal),
    },
    sinks: createReleaseMetricSinks(metrics.registry),
    maxConcurrentActivityTaskExecutions: 200,
  });
  return { worker, connection };
}
