import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { eventually, uniqueName } from '../support/sandbox.js';
import { appPods, gateOf, imageOf, startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/**
 * Revision-safe pods: a pod the controller recreates outside the release (kubectl delete, a crash, a lost
 * node) comes back at the revision its group is approved for, and after an abort every cell's workload
 * describes what its pods run, so nothing unapproved appears later.
 */
let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

const ns = 'acme-prod';
const v1 = 'registry.local/safe:1';
const v2 = 'registry.local/safe:2';

async function deployed(app: string, cells: string[], replicas: number): Promise<void> {
  const { revision } = await h.releases.upsertApp(appSpec(app, v1, { cells, replicasPerCell: replicas }), 'alice');
  const first = await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(first)).state).toBe('succeeded');
  await h.releases.upsertApp(appSpec(app, v2, { cells, replicasPerCell: replicas }), 'alice');
}

/** Deletes the pod and waits for its replacement (another uid) to be Ready with its traffic gate open. */
async function deleteAndAwaitReplacement(cluster: string, name: string): Promise<V1Pod> {
  const core = h.sandbox.kubeConfig(cluster).makeApiClient(CoreV1Api);
  const before = await core.readNamespacedPod({ name, namespace: ns });
  await core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 });
  let last: V1Pod | undefined;
  return eventually(
    `pod ${name} replaced and serving`,
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace: ns }).catch(() => undefined);
      const replaced = pod && pod.metadata?.uid !== before.metadata?.uid && !pod.metadata?.deletionTimestamp;
      if (replaced && gateOf(pod) === 'True') return pod;
      last = pod;
      return undefined;
    },
    90_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; last seen: ${JSON.stringify({ metadata: last?.metadata, status: last?.status })}`);
  });
}

const clusterOf = (cell: string) => (cell.startsWith('rz00') ? 'kc1' : 'kc2');

test('after an abort, a deleted pod comes back at the revision it ran: in changed and in untouched cells', async () => {
  const app = uniqueName('safe-abort');
  const cells = ['rz00a', 'rz00b', 'rz01a', 'rz01b'];
  await deployed(app, cells, 2);
  // one group over four cells, one pod at a time: the abort lands while the first pods are in hand
  const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
  await waitForStatus(h.releases, ref, 'a pod in progress', (s) => s.pods.some((p) => p.state === 'in-progress'));
  await h.releases.abort(ref, { by: 'oncall', reason: 'stop' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('aborted');
  const changed = new Set(final.changedPods);
  expect(changed.size).toBeGreaterThanOrEqual(1);
  expect(changed.size).toBeLessThan(8);

  // every cell's workload template was moved to the new revision before its pods; the partition holds them
  for (const cell of cells) {
    const set = await h.sandbox
      .kubeConfig(clusterOf(cell))
      .makeApiClient(AppsV1Api)
      .readNamespacedStatefulSet({ name: `${app}-${cell}`, namespace: ns });
    expect(set.spec?.updateStrategy?.type).toBe('RollingUpdate');
  }

  const untouchedCell = cells.find((cell) => ![...changed].some((p) => p.startsWith(`${app}-${cell}-`)))!;
  expect(untouchedCell).toBeDefined();
  const changedPod = [...changed][0]!;
  const changedCell = cells.find((cell) => changedPod.startsWith(`${app}-${cell}-`))!;
  expect(imageOf(await deleteAndAwaitReplacement(clusterOf(untouchedCell), `${app}-${untouchedCell}-1`))).toBe(v1);
  expect(imageOf(await deleteAndAwaitReplacement(clusterOf(changedCell), changedPod))).toBe(v2);

  // and nothing else moved: the pods run exactly what the release reported
  for (const cell of cells) {
    for (const pod of await appPods(h.sandbox, clusterOf(cell), ns, app)) {
      if (!pod.metadata?.name?.startsWith(`${app}-${cell}-`)) continue;
      expect([pod.metadata.name, imageOf(pod)]).toEqual([pod.metadata.name, changed.has(pod.metadata.name) ? v2 : v1]);
    }
  }
});

test('a pod of a later group deleted while a gate waits comes back at the old revision, and moves in its own group', async () => {
  const app = uniqueName('safe-gate');
  await deployed(app, ['rz00b'], 4);
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  const atGate = await waitForStatus(h.releases, ref, 'waiting at the gate', (s) => s.state === 'waiting-approval');
  const later = atGate.groups[1]!.pods[0]!;
  const earlier = atGate.groups[0]!.pods[0]!;
  expect(imageOf(await deleteAndAwaitReplacement('kc1', later))).toBe(v1);
  // a pod of the approved group comes back at the new revision
  expect(imageOf(await deleteAndAwaitReplacement('kc1', earlier))).toBe(v2);

  await h.releases.approve(ref, { by: 'carol', group: 0 });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  const pods = await appPods(h.sandbox, 'kc1', ns, app);
  expect(pods.map(imageOf)).toEqual([v2, v2, v2, v2]);
  expect(pods.every((p) => gateOf(p) === 'True')).toBe(true);
});

test('recreate mode moves pods through the partition: each comes back at the new revision, highest ordinal first', async () => {
  const app = uniqueName('safe-recreate');
  await deployed(app, ['rz01a'], 3);
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 1, mode: 'recreate', maxConcurrentPods: 3 },
  });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  const pods = await appPods(h.sandbox, 'kc2', ns, app);
  expect(pods.map(imageOf)).toEqual([v2, v2, v2]);
  const set = await h.sandbox
    .kubeConfig('kc2')
    .makeApiClient(AppsV1Api)
    .readNamespacedStatefulSet({ name: `${app}-rz01a`, namespace: ns });
  expect(set.spec?.updateStrategy?.rollingUpdate?.partition).toBe(0);
});

test('the first release of a new App creates its pods group by group, behind the same gates', async () => {
  const app = uniqueName('safe-first');
  const cells = ['rz00a', 'rz00b'];
  const { revision } = await h.releases.upsertApp(appSpec(app, v1, { cells, replicasPerCell: 3 }), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    revision,
    requestedBy: 'alice',
    strategy: { groups: 3, gate: { type: 'manual' } },
  });
  const atGate = await waitForStatus(h.releases, ref, 'the first gate', (s) => s.state === 'waiting-approval' && s.currentGroup === 0);
  // one pod per cell so far, ordinal 0 (a StatefulSet grows from the bottom)
  expect(atGate.groups[0]!.pods.sort()).toEqual([`${app}-rz00a-0`, `${app}-rz00b-0`]);
  const created = (await appPods(h.sandbox, 'kc1', ns, app)).map((p) => p.metadata!.name!).sort();
  expect(created).toEqual([`${app}-rz00a-0`, `${app}-rz00b-0`]);
  await h.releases.approve(ref, { by: 'carol', group: 0 });
  await waitForStatus(h.releases, ref, 'the second gate', (s) => s.state === 'waiting-approval' && s.currentGroup === 1);
  expect(await appPods(h.sandbox, 'kc1', ns, app)).toHaveLength(4);
  await h.releases.approve(ref, { by: 'carol', group: 1 });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  const pods = await appPods(h.sandbox, 'kc1', ns, app);
  expect(pods).toHaveLength(6);
  expect(pods.every((p) => imageOf(p) === v1 && gateOf(p) === 'True')).toBe(true);
});

test('a workload of an earlier Barista (OnDelete, updated in place) is adopted: a pod deleted at a gate comes back at what it ran', async () => {
  const app = uniqueName('safe-legacy');
  const v3 = 'registry.local/safe:3';
  await deployed(app, ['rz01b'], 3); // v1 released; revision 2 (v2) registered
  const record = (await h.releases.getApp('acme', app))!;
  const r2 = record.revisions.find((r) => r.number === record.latest)!;
  // what an earlier Barista left: OnDelete, template at revision 2, every pod moved in place (its controller
  // revision label still the first template's), so the controller's current revision is still the first one
  const apps = h.sandbox.kubeConfig('kc2').makeApiClient(AppsV1Api);
  const core = h.sandbox.kubeConfig('kc2').makeApiClient(CoreV1Api);
  const name = `${app}-rz01b`;
  const set = await apps.readNamespacedStatefulSet({ name, namespace: ns });
  const template = set.spec!.template;
  template.metadata!.labels!['barista.dev/revision'] = String(r2.number);
  template.spec!.containers[0]!.image = v2;
  await apps.replaceNamespacedStatefulSet({
    name,
    namespace: ns,
    body: { ...set, spec: { ...set.spec!, template, updateStrategy: { type: 'OnDelete' } } },
  });
  for (const pod of await appPods(h.sandbox, 'kc2', ns, app))
    await core.patchNamespacedPod(
      {
        name: pod.metadata!.name!,
        namespace: ns,
        body: { metadata: { labels: { 'barista.dev/revision': String(r2.number) } }, spec: { containers: [{ name: 'app', image: v2 }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
  await eventually('the pods running v2', async () =>
    (await appPods(h.sandbox, 'kc2', ns, app)).every((p) => p.status?.containerStatuses?.[0]?.image === v2 && gateOf(p) === 'True')
      ? true
      : undefined,
  );

  await h.releases.upsertApp(appSpec(app, v3, { cells: ['rz01b'], replicasPerCell: 3 }), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 3, gate: { type: 'manual' } },
  });
  const atGate = await waitForStatus(h.releases, ref, 'waiting at the gate', (s) => s.state === 'waiting-approval');
  expect(imageOf(await deleteAndAwaitReplacement('kc2', atGate.groups[2]!.pods[0]!))).toBe(v2);
  await h.releases.promoteAll(ref, { by: 'carol' });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  expect((await appPods(h.sandbox, 'kc2', ns, app)).map(imageOf)).toEqual([v3, v3, v3]);
});
