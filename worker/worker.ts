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
import { positiveIntFromEnv } from './kube/deadlines.js';
import { createReleaseMetricSinks } from './release-metrics.js';

export const DEFAULT_TASK_QUEUE = 'barista';

/**
 * Activities one worker runs at once. A pod step waiting (drained, ready) costs a listener on the shared pod
 * watch, a heartbeat every 5 s and a read every 10 s, so a worker holds hundreds of them.
 */
export const MAX_CONCURRENT_ACTIVITIES = positiveIntFromEnv('BARISTA_MAX_CONCURRENT_ACTIVITIES', 1000);

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

/**
 * A Temporal worker running Barista's workflows and activities against the clusters of `kubeconfig`. Once the
 * worker has stopped, `clusters.stop()` ends its shared watches.
 */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; clusters: Clusters }> {
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  const metrics = opts.metrics ?? createActivityMetrics();
  const namespace = opts.namespace ?? 'default';
  // the release queue's activities start and await releases: a client on the worker's own connection
  const temporal = new Client({ connection, namespace });
  const clusters = new Clusters(opts.kubeconfig);
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
      }),
      ...createReleaseQueueActivities(temporal),
    },
    sinks: createReleaseMetricSinks(metrics.registry),
    maxConcurrentActivityTaskExecutions: MAX_CONCURRENT_ACTIVITIES,
  });
  return { worker, connection, clusters };
}
