import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { ReleaseClient, ReleaseRef } from '../../api/release-client.js';
import { BoundedReleaseClient, describeRelease } from './bounded-release-client.js';
import { LABELS } from '../../activities/labels.js';
import { PrometheusClient } from '../../activities/checks/prometheus-client.js';
import type { NotificationLinks } from '../../activities/notifications.js';
import { createActivityMetrics, type ActivityMetrics } from '../../activities/metrics.js';
import { createLogger } from '../../sandbox/logger.js';
import { createWorker } from '../../worker/worker.js';
import { startGateKeepers } from '../../worker/gate-keeper.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from './sandbox.js';

/** A worker and a release client on the shared sandbox, with a task queue of their own. */
export interface ReleaseHarness {
  sandbox: TestSandbox;
  releases: ReleaseClient;
  client: Client;
  worker: Worker;
  metrics: ActivityMetrics;
  stop(): Promise<void>;
}

export async function startReleaseHarness(
  opts: {
    skipDrainForTests?: boolean;
    maxConcurrentActivities?: number;
    webhookSecret?: string;
    notificationLinks?: NotificationLinks;
    /** The central worker's kubeconfig (default: the sandbox's, every cluster); its gate keepers use it too. */
    kubeconfig?: string;
    /** Clusters served by agents (the worker's BARISTA_AGENT_CLUSTERS). */
    agentClusters?: string[];
  } = {},
): Promise<ReleaseHarness> {
  const sandbox = await connectSandbox();
  const taskQueue = uniqueName('barista-test');
  const metrics = createActivityMetrics();
  const {
    worker,
    connection: nativeConnection,
    stopAfterRun,
  } = await createWorker({
    temporalAddress: sandbox.info.temporalAddress,
    namespace: sandbox.info.temporalNamespace,
    taskQueue,
    kubeconfig: opts.kubeconfig ?? sandbox.info.kubeconfig,
    ...(opts.agentClusters ? { agentClusters: opts.agentClusters } : {}),
    logger: createLogger('test-worker', process.env.BARISTA_TEST_LOG_LEVEL ?? 'warn'), // 'info' shows each pod's step timings
    ...(sandbox.info.auditDatabaseUrl ? { auditDatabaseUrl: sandbox.info.auditDatabaseUrl } : {}),
    skipDrainForTests: opts.skipDrainForTests ?? false,
    metrics,
    ...(opts.maxConcurrentActivities ? { maxConcurrentActivities: opts.maxConcurrentActivities } : {}),
    ...(sandbox.info.prometheusUrl ? { prometheusUrl: sandbox.info.prometheusUrl } : {}),
    ...(opts.webhookSecret ? { webhookSecret: opts.webhookSecret } : {}),
    ...(opts.notificationLinks ? { notificationLinks: opts.notificationLinks } : {}),
  });
  const running = worker.run();
  const gateKeepers = await startGateKeepers(opts.kubeconfig ?? sandbox.info.kubeconfig, createLogger('gate-keeper', 'warn'));
  const connection = await Connection.connect({ address: sandbox.info.temporalAddress });
  const client = new Client({ connection, namespace: sandbox.info.temporalNamespace });
  return {
    sandbox,
    client,
    worker,
    metrics,
    releases: new BoundedReleaseClient(
      client,
      taskQueue,
      sandbox.info.prometheusUrl ? { prometheus: new PrometheusClient(sandbox.info.prometheusUrl) } : {},
    ),
    async stop() {
      worker.shutdown();
      await running;
      await stopAfterRun();
      await gateKeepers.stop();
      await connection.close();
      await (nativeConnection as NativeConnection).close();
    },
  };
}

export async function waitForStatus(
  releases: ReleaseClient,
  ref: ReleaseRef,
  what: string,
  predicate: (s: ReleaseStatus) => boolean,
  timeoutMs = 90_000,
): Promise<ReleaseStatus> {
  let last: ReleaseStatus | undefined;
  return eventually(
    `release status: ${what}`,
    async () => {
      const s = await releases.status(ref);
      last = s;
      return predicate(s) ? s : undefined;
    },
    timeoutMs,
  ).catch((err: unknown) => {
    // say what the release was doing instead, so that a failure on a CI machine can be understood from its log
    const seen = last ? describeRelease(last) : 'no status read';
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last status: ${seen}`);
  });
}

export async function appPods(sandbox: TestSandbox, cluster: string, namespace: string, app: string): Promise<V1Pod[]> {
  const core = sandbox.kubeConfig(cluster).makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `${LABELS.app}=${app}` });
  return pods.items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}

export async function statefulSetExists(sandbox: TestSandbox, cluster: string, namespace: string, name: string): Promise<boolean> {
  const apps = sandbox.kubeConfig(cluster).makeApiClient(AppsV1Api);
  return apps.readNamespacedStatefulSet({ name, namespace }).then(
    () => true,
    () => false,
  );
}

export const imageOf = (pod: V1Pod) => pod.spec?.containers[0]?.image;
export const restartsOf = (pod: V1Pod) => pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
export const gateOf = (pod: V1Pod) => pod.status?.conditions?.find((c) => c.type === 'barista.dev/traffic-ready')?.status;
