/**
 * The baseline a user would pick instead of Barista: plain StatefulSets (one per cell, the same pods) updated by
 * the controller's own RollingUpdate, `maxUnavailable` pods at a time, with no drain and no gates.
 */
import { AppsV1Api, CoreV1Api, type V1StatefulSet } from '@kubernetes/client-node';
import type { Sandbox } from '../sandbox/sandbox.js';
import { makeApiClient } from '../worker/kube/api-client.js';
import { kubeConfigsByContext } from '../worker/kube/contexts.js';

const NAMESPACE = 'bench-native';
const CELL_LABEL = 'barista.dev/cell';

interface CellSet {
  apps: AppsV1Api;
  name: string;
}

function statefulSet(cell: string, replicas: number, maxUnavailable: number, image: string): V1StatefulSet {
  const labels = { app: 'native', [CELL_LABEL]: cell };
  return {
    metadata: { name: `native-${cell}`, namespace: NAMESPACE },
    spec: {
      replicas,
      serviceName: `native-${cell}`,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable } },
      template: {
        metadata: { labels },
        spec: { nodeSelector: { [CELL_LABEL]: cell }, containers: [{ name: 'app', image }], terminationGracePeriodSeconds: 30 },
      },
    },
  };
}

/** Creates the StatefulSets (`perCell` pods in each cell, image v1) and waits until every pod is ready. */
export async function deployNative(sandbox: Sandbox, perCell: number, maxUnavailable: number): Promise<CellSet[]> {
  const contexts = kubeConfigsByContext(sandbox.kubeconfigPath);
  const sets: CellSet[] = [];
  for (const cluster of sandbox.topology.clusters) {
    const kc = contexts.get(cluster.name)!;
    const core = makeApiClient(kc, CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }).catch(() => undefined);
    const apps = makeApiClient(kc, AppsV1Api);
    for (const cell of cluster.cells) {
      await apps.createNamespacedStatefulSet({
        namespace: NAMESPACE,
        body: statefulSet(cell.name, perCell, maxUnavailable, 'registry.local/native:1'),
      });
      sets.push({ apps, name: `native-${cell.name}` });
    }
  }
  await rolledOut(sets, 'registry.local/native:1');
  return sets;
}

/** Sets image v2 on every StatefulSet at once and returns the seconds until every pod runs it and is ready. */
export async function updateNative(sets: CellSet[]): Promise<number> {
  const started = Date.now();
  await Promise.all(
    sets.map(({ apps, name }) =>
      apps.patchNamespacedStatefulSet({
        name,
        namespace: NAMESPACE,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/native:2' }],
      }),
    ),
  );
  await rolledOut(sets, 'registry.local/native:2');
  return (Date.now() - started) / 1000;
}

/** Polls until each StatefulSet's controller reports every replica updated and ready at `image`. */
async function rolledOut(sets: CellSet[], image: string): Promise<void> {
  for (;;) {
    const states = await Promise.all(sets.map(({ apps, name }) => apps.readNamespacedStatefulSet({ name, namespace: NAMESPACE })));
    const done = states.every((s) => {
      const st = s.status;
      const want = s.spec?.replicas ?? 0;
      return (
        s.spec?.template.spec?.containers[0]?.image === image &&
        st?.observedGeneration === s.metadata?.generation &&
        st?.updatedReplicas === want &&
        st?.readyReplicas === want &&
        st?.currentRevision === st?.updateRevision
      );
    });
    if (done) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
