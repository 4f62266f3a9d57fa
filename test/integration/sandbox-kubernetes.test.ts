import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { CELL_LABEL } from '../../sandbox/index.js';
import { connectSandbox, eventually, uniqueName, type TestSandbox } from '../support/sandbox.js';

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await connectSandbox();
});

/** A namespace and a 3-replica OnDelete StatefulSet pinned to one cell, as Barista will create them. */
async function createStatefulSet(kc: KubeConfig, cell: string, image: string) {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const namespace = uniqueName('t');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        serviceName: 'web',
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'OnDelete' },
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { nodeSelector: { [CELL_LABEL]: cell }, containers: [{ name: 'app', image }] },
        },
      },
    },
  });
  return { core, namespace };
}

async function readyPods(core: CoreV1Api, namespace: string, count: number): Promise<V1Pod[] | undefined> {
  const pods = (await core.listNamespacedPod({ namespace })).items;
  const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  return ready.length === count ? ready : undefined;
}

const containerOf = (pod: V1Pod) => pod.status?.containerStatuses?.[0];

test('a StatefulSet in the second cluster gets pods from the real controller-manager, placed in its cell and made Ready', async () => {
  const kc = sandbox.kubeConfig('kc2');
  const { core, namespace } = await createStatefulSet(kc, 'rz01b', 'registry.local/web:1.0');
  const pods = await eventually('3 ready pods', () => readyPods(core, namespace, 3));
  const nodes = (await core.listNode()).items;
  for (const pod of pods) {
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'web' });
    const node = nodes.find((n) => n.metadata?.name === pod.spec?.nodeName);
    expect(node?.metadata?.labels?.[CELL_LABEL]).toBe('rz01b');
    expect(pod.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(pod.status?.phase).toBe('Running');
  }
  expect(new Set(pods.map((p) => p.status?.podIP)).size).toBe(3);
  // the first cluster does not see the second one's objects
  const other = sandbox.kubeConfig('kc1').makeApiClient(CoreV1Api);
  await expect(other.readNamespace({ name: namespace })).rejects.toMatchObject({ code: 404 });
});

test('an in-place image patch restarts the container with the new image and keeps the pod IP', async () => {
  const kc = sandbox.kubeConfig('kc1');
  const { core, namespace } = await createStatefulSet(kc, 'rz00a', 'registry.local/web:1.0');
  const [before] = (await eventually('3 ready pods', () => readyPods(core, namespace, 3))) as [V1Pod];
  const name = before.metadata!.name!;
  await core.patchNamespacedPod({
    name,
    namespace,
    body: [{ op: 'replace', path: '/spec/containers/0/image', value: 'registry.local/web:2.0' }],
  });
  const after = await eventually('the pod to run 2.0 and be ready', async () => {
    const pod = await core.readNamespacedPod({ name, namespace });
    const cs = containerOf(pod);
    return cs?.image === 'registry.local/web:2.0' && cs.ready ? pod : undefined;
  });
  expect(after.metadata?.uid).toBe(before.metadata?.uid);
  expect(after.status?.podIP).toBe(before.status?.podIP);
  expect(after.spec?.nodeName).toBe(before.spec?.nodeName);
  expect(containerOf(after)?.restartCount).toBe((containerOf(before)?.restartCount ?? 0) + 1);
});

test('a pod whose image is marked bad never becomes Ready', async () => {
  const kc = sandbox.kubeConfig('kc1');
  const badImage = `registry.local/web:${uniqueName('broken')}`;
  await sandbox.control.setImageBad(badImage);
  const { core, namespace } = await createStatefulSet(kc, 'rz00b', 'registry.local/web:1.0');
  const [pod] = (await eventually('3 ready pods', () => readyPods(core, namespace, 3))) as [V1Pod];
  const name = pod.metadata!.name!;
  await core.patchNamespacedPod({ name, namespace, body: [{ op: 'replace', path: '/spec/containers/0/image', value: badImage }] });
  const failed = await eventually('the bad image to fail to start', async () => {
    const p = await core.readNamespacedPod({ name, namespace });
    return containerOf(p)?.state?.waiting?.reason === 'ErrImagePull' ? p : undefined;
  });
  expect(containerOf(failed)?.ready).toBe(false);
  expect(failed.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  // the fault is the only reason: clearing it lets the same pod start
  await sandbox.control.setImageBad(badImage, false);
  await eventually('the pod to become ready once the image is good', async () => {
    const p = await core.readNamespacedPod({ name, namespace });
    return containerOf(p)?.ready ? p : undefined;
  });
});

test('a stopped cluster is unreachable and comes back with its state when restarted', async () => {
  const kc = sandbox.kubeConfig('kc3');
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = uniqueName('persist');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await sandbox.control.stopCluster('kc3');
  try {
    await expect(core.readNamespace({ name: namespace })).rejects.toThrow(/ECONNREFUSED|connect/);
  } finally {
    await sandbox.control.startCluster('kc3');
  }
  const back = await eventually('kc3 to answer again', () => core.readNamespace({ name: namespace }));
  expect(back.metadata?.name).toBe(namespace);
  // the simulated kubelet reconnects too: new pods are still scheduled and made ready
  const { core: core3, namespace: ns3 } = await createStatefulSet(kc, 'rz02a', 'registry.local/web:1.0');
  await eventually('pods in the restarted cluster', () => readyPods(core3, ns3, 3));
});

test('a stopped node makes its pods unready and takes no new pods; started again, they recover', async () => {
  const kc = sandbox.kubeConfig('kc2');
  const { core, namespace } = await createStatefulSet(kc, 'rz01a', 'registry.local/web:1.0');
  const pods = await eventually('3 ready pods', () => readyPods(core, namespace, 3));
  const node = pods[0]!.spec!.nodeName!;
  await sandbox.control.stopNode(node);
  try {
    await eventually(`pods on ${node} to become unready`, async () => {
      const onNode = (await core.listNamespacedPod({ namespace })).items.filter((p) => p.spec?.nodeName === node);
      return onNode.every((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False') ? onNode : undefined;
    });
  } finally {
    await sandbox.control.startNode(node);
  }
  await eventually('all pods ready again', () => readyPods(core, namespace, 3));
});
