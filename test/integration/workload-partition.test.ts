import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Clusters, type ClusterClient } from '../../activities/clusters.js';
import { LABELS } from '../../activities/labels.js';
import { lowerPartition, readUpdateRevision } from '../../activities/workload-partition.js';
import { connectSandbox, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * The partition only ever goes down, also when pod steps race: each write is a compare-and-swap on the partition
 * it read (and on the template's revision), on a real API server. A step waiting for the StatefulSet's controller
 * reads the workload again when the worker's shared StatefulSet watch shows it ready, not every 250 ms.
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

/** A StatefulSet of no pods at template revision 1, in a namespace of its own on kc1. */
async function statefulSet(app: string, o: { partition?: number } = {}) {
  const namespace = uniqueName(app);
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
        ...(o.partition !== undefined ? { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: o.partition } } } : {}),
        template: {
          metadata: { labels: { ...labels, [LABELS.revision]: '1' } },
          spec: { containers: [{ name: 'app', image: `registry.local/${app}:1` }] },
        },
      },
    },
  });
  const ref = { cluster: 'kc1', namespace, app, tenant: 'acme', workspace: 'prod', cell };
  return { apps, namespace, name, ref, cleanUp: () => kc.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }) };
}

test('a step that read an older, higher partition never raises it again; a newer template is never touched', async () => {
  const { apps, namespace, name, ref } = await statefulSet('cas', { partition: 6 });
  const client = clusters.get('kc1');
  const partition = async () => (await apps.readNamespacedStatefulSet({ name, namespace })).spec?.updateStrategy?.rollingUpdate?.partition;

  expect(await lowerPartition(client, ref, '1', 6, 5)).toBe(true);
  // two steps read 5; one lowers it to 2 first, the other (wanting 4) must not raise it back
  expect(await lowerPartition(client, ref, '1', 5, 2)).toBe(true);
  expect(await lowerPartition(client, ref, '1', 5, 4)).toBe(false);
  expect(await partition()).toBe(2);

  // a rollback's template (revision 2) took over: a step of the release before it changes nothing
  await apps.patchNamespacedStatefulSet({
    name,
    namespace,
    body: [{ op: 'replace', path: `/spec/template/metadata/labels/${LABELS.revision.replace('/', '~1')}`, value: '2' }],
  });
  expect(await lowerPartition(client, ref, '1', 2, 1)).toBe(false);
  expect(await partition()).toBe(2);
}, 60_000);

test('a step waiting for a new template reads its StatefulSet a few times, and is done once the controller has seen it', async () => {
  const { apps, namespace, name, ref, cleanUp } = await statefulSet('ww');
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
  await cleanUp();
});
