import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { LABELS } from '../../activities/labels.js';
import { makeApiClient } from '../../worker/kube/api-client.js';
import { withKubeSignal } from '../../worker/kube/deadlines.js';
import { PodCache } from '../../worker/kube/pod-cache.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * The worker's shared pod watch is started by the first wait that listens, inside that wait's scope (its
 * activity, its pod budget). It must not inherit that scope: once the wait's activity is cancelled (Temporal
 * cancels a finished activity whose late heartbeat finds it gone), every later list and watch of the cache
 * failed at once, so every wait of the worker fell back to reading its pod each 10 s (found on the sandbox:
 * releases 5 to 10 times slower after the first cancelled wait).
 */
let sandbox: TestSandbox;
let cache: PodCache | undefined;
beforeAll(async () => {
  sandbox = await connectSandbox();
});
afterAll(async () => {
  await cache?.stop();
});

test('the shared pod watch delivers changes although the wait that started it was cancelled', async () => {
  const kc = sandbox.kubeConfig('kc3');
  const core = makeApiClient(kc, CoreV1Api);
  const namespace = uniqueName('podcache');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const name = 'p';
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { [LABELS.managedBy]: 'barista' } },
      // no node has this label: the pod stays Pending, which is all this test needs
      spec: { containers: [{ name: 'app', image: 'registry.local/x:1' }], nodeSelector: { 'barista.dev/none': 'none' } },
    },
  });

  cache = new PodCache(kc, core);
  const seen: V1Pod[] = [];
  // the first wait to listen is already being cancelled when it does (every request in its scope fails)
  const firstWait = new AbortController();
  firstWait.abort(new Error('activity cancelled'));
  void withKubeSignal(firstWait.signal, async () => {
    cache!.subscribe(namespace, name, (pod) => pod && seen.push(pod));
  });

  await core.patchNamespacedPod(
    { namespace, name, body: { metadata: { labels: { step: 'two' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await eventually(
    'the change seen by the shared watch',
    async () => (seen.some((p) => p.metadata?.labels?.step === 'two') ? true : undefined),
    15_000,
  );
  await core.deleteNamespace({ name: namespace });
});

test('listing by App and cell follows pods created, relabelled and deleted on the API server', async () => {
  const kc = sandbox.kubeConfig('kc3');
  const core = makeApiClient(kc, CoreV1Api);
  const namespace = uniqueName('podindex');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const create = (name: string, app: string, cell: string) =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { [LABELS.managedBy]: 'barista', [LABELS.app]: app, [LABELS.cell]: cell } },
        spec: { containers: [{ name: 'app', image: 'registry.local/x:1' }], nodeSelector: { 'barista.dev/none': 'none' } },
      },
    });
  const own = new PodCache(kc, core);
  try {
    await own.synced();
    await Promise.all([create('a-0', 'a', 'rz1'), create('a-1', 'a', 'rz1'), create('a-2', 'a', 'rz2'), create('b-0', 'b', 'rz1')]);
    const names = (labels: Record<string, string>) =>
      own
        .list(namespace, labels)
        .map((p) => p.metadata?.name)
        .sort()
        .join(',');
    const listed = (labels: Record<string, string>, want: string) =>
      eventually(`${JSON.stringify(labels)} lists ${want}`, async () => (names(labels) === want ? true : undefined), 15_000);
    await listed({ [LABELS.app]: 'a', [LABELS.cell]: 'rz1' }, 'a-0,a-1');
    await listed({ [LABELS.app]: 'a' }, 'a-0,a-1,a-2');

    await core.patchNamespacedPod(
      { namespace, name: 'a-1', body: { metadata: { labels: { [LABELS.cell]: 'rz2' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedPod({ namespace, name: 'a-0', gracePeriodSeconds: 0 });
    await listed({ [LABELS.app]: 'a', [LABELS.cell]: 'rz1' }, '');
    await listed({ [LABELS.app]: 'a', [LABELS.cell]: 'rz2' }, 'a-1,a-2');
    await listed({ [LABELS.app]: 'b', [LABELS.cell]: 'rz1' }, 'b-0');
  } finally {
    await own.stop();
    await core.deleteNamespace({ name: namespace });
  }
});
