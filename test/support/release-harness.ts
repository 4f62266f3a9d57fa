import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ReleaseClient, type ReleaseRef } from '../../api/release-client.js';
import { LABELS } from '../../activities/labels.js';
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
  opts: { skipDrainForTests?: boolean; maxConcurrentActivities?: number } = {},
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
    kubeconfig: sandbox.info.kubeconfig,
    logger: createLogger('test-worker', 'warn'),
    ...(sandbox.info.auditDatabaseUrl ? { auditDatabaseUrl: sandbox.info.auditDatabaseUrl } : {}),
    skipDrainForTests: opts.skipDrainForTests ?? false,
    metrics,
    ...(opts.maxConcurrentActivities ? { maxConcurrentActivities: opts.maxConcurrentActivities } : {}),
  });
  const running = worker.run();
  const gateKeepers = await startGateKeepers(sandbox.info.kubeconfig, createLogger('gate-keeper', 'warn'));
  const connection = await Connection.connect({ address: sandbox.info.temporalAddress });
  const client = new Client({ connection, namespace: sandbox.info.temporalNamespace });
  return {
    sandbox,
    client,
    worker,
    metrics,
    releases: new ReleaseClient(client, taskQueue),
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
  return eventually(
    `release status: ${what}`,
    async () => {
      const s = await releases.status(ref);
      return predicate(s) ? s : undefined;
    },
    timeoutMs,
  );
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
