import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Clusters, type ClusterClient } from '../../activities/clusters.js';
import { LABELS } from '../../activities/labels.js';
import { readUpdateRevision } from '../../activities/workload-partition.js';
import { connectSandbox, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * A pod step waiting for its StatefulSet's controller (readUpdateRevision, the partition's catch-up) reads the
 * workload again when the worker's shared StatefulSet watch shows it ready, not every 250 ms: with 1,000 pods
 * waiting, those reads starved the controller they waited for (bench:scale at 10,000 pods).
 */
let sb: TestSandbox;
let clusters: Clusters;
beforeAll(async () => {
  sb = await connectSandbox();
  clusters = new Clusters(sb.info.kubeconfig);
});
afterAll(async () => {
  await clusters?.stop();
});

test('a step waiting for a new template reads its StatefulSet a few times, and is done once the controller has seen it', async () => {
  const namespace = uniqueName('wlwatch');
  const app = 'ww';
  const cell = 'rz00a';
  const name = `${app}-${cell}`;
  const kc = sb.kubeConfig('kc1');
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { [LABELS.app]: app, [LABELS.cell]: cell };
  await apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name, labels: { [LABELS.managedBy]: 'barista' } },
      spec: {
        replicas: 0,
        serviceName: name,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, [LABELS.revision]: '1' } },
          spec: { containers: [{ name: 'app', image: 'registry.local/ww:1' }] },
        },
      },
    },
  });
  const base = clusters.get('kc1');
  let reads = 0;
  const counting: ClusterClient = {
    ...base,
    apps: new Proxy(base.apps, {
      get(target, prop, receiver) {
        if (prop === 'readNamespacedStatefulSet') reads++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }),
  };
  const ref = { cluster: 'kc1', namespace, app, cell, tenant: 'acme', workspace: 'prod' };
  const waiting = readUpdateRevision(counting, ref, 2);
  await new Promise((r) => setTimeout(r, 3_000));
  const readsWhileWaiting = reads;
  await apps.patchNamespacedStatefulSet(
    { name, namespace, body: { spec: { template: { metadata: { labels: { [LABELS.revision]: '2' } } } } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  const updateRevision = await waiting;
  const set = await apps.readNamespacedStatefulSet({ name, namespace });
  expect(updateRevision).toBe(set.status?.updateRevision);
  expect(set.spec?.template.metadata?.labels?.[LABELS.revision]).toBe('2');
  // every 250 ms, 3 s of waiting made 12 reads or more; with the watch, one at the start and one each 2 s at most
  expect(readsWhileWaiting).toBeLessThanOrEqual(4);
  expect(base.workloads?.listening).toBe(0);
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
});
