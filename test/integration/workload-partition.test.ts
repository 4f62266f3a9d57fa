import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { Clusters } from '../../activities/clusters.js';
import { LABELS } from '../../activities/labels.js';
import { lowerPartition } from '../../activities/workload-partition.js';
import { connectSandbox, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * The partition only ever goes down, also when pod steps race: each write is a compare-and-swap on the partition
 * it read (and on the template's revision), on a real API server.
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

test('a step that read an older, higher partition never raises it again; a newer template is never touched', async () => {
  const namespace = uniqueName('partition');
  const app = 'cas';
  const cell = 'rz00a';
  const kc = sb.kubeConfig('kc1');
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { [LABELS.app]: app, [LABELS.cell]: cell };
  await apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name: `${app}-${cell}` },
      spec: {
        replicas: 0,
        serviceName: `${app}-${cell}`,
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 6 } },
        template: {
          metadata: { labels: { ...labels, [LABELS.revision]: '1' } },
          spec: { containers: [{ name: 'app', image: 'registry.local/cas:1' }] },
        },
      },
    },
  });
  const ref = { cluster: 'kc1', namespace, app, tenant: 'acme', workspace: 'prod', cell };
  const client = clusters.get('kc1');
  const partition = async () =>
    (await apps.readNamespacedStatefulSet({ name: `${app}-${cell}`, namespace })).spec?.updateStrategy?.rollingUpdate?.partition;

  expect(await lowerPartition(client, ref, '1', 6, 5)).toBe(true);
  // two steps read 5; one lowers it to 2 first, the other (wanting 4) must not raise it back
  expect(await lowerPartition(client, ref, '1', 5, 2)).toBe(true);
  expect(await lowerPartition(client, ref, '1', 5, 4)).toBe(false);
  expect(await partition()).toBe(2);

  // a rollback's template (revision 2) took over: a step of the release before it changes nothing
  await apps.patchNamespacedStatefulSet({
    name: `${app}-${cell}`,
    namespace,
    body: [{ op: 'replace', path: `/spec/template/metadata/labels/${LABELS.revision.replace('/', '~1')}`, value: '2' }],
  });
  expect(await lowerPartition(client, ref, '1', 2, 1)).toBe(false);
  expect(await partition()).toBe(2);
}, 60_000);
