import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { TrafficGenerator } from '../../sandbox/index.js';
import { driftRunId, type DriftReport, type DriftRunInput } from '../../workflows/drift-definitions.js';
import { appSpec } from '../support/app-spec.js';
import { appPods, gateOf, imageOf, startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { startHttpApi } from '../support/http-api.js';

/**
 * Drift repair on the real sandbox: what someone changed by hand in a cell is put back to the revision recorded
 * for that cell, through the same steps as a release (no request lost); what another controller owns, a status
 * annotation, a cell masked out of the last release, an App with a release in flight are left alone; a dry run
 * changes nothing; a field that keeps drifting is quarantined.
 */
const ns = 'acme-prod';
const CLUSTER = 'kc1';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let h: ReleaseHarness;
let core: CoreV1Api;
let apps: AppsV1Api;
beforeAll(async () => {
  h = await startReleaseHarness();
  core = h.sandbox.kubeConfig(CLUSTER).makeApiClient(CoreV1Api);
  apps = h.sandbox.kubeConfig(CLUSTER).makeApiClient(AppsV1Api);
});
afterAll(async () => {
  await h?.stop();
});

/** One drift run over `app` only (other test files' Apps of acme have no worker here). */
async function drift(app: string, o: Omit<DriftRunInput, 'tenant' | 'apps'> = {}): Promise<DriftReport> {
  return await h.client.workflow.execute('driftRepair', {
    workflowId: driftRunId('acme', new Date()) + `-${app}`,
    taskQueue: h.releases.taskQueue,
    args: [{ tenant: 'acme', apps: [app], by: 'test', ...o }],
  });
}

async function deploy(spec: ReturnType<typeof appSpec> & Record<string, unknown>, mask?: string[]): Promise<number> {
  const { revision } = await h.releases.upsertApp(spec, 'alice');
  const ref = await h.releases.startRelease({
    app: spec.name,
    tenant: 'acme',
    revision,
    requestedBy: 'alice',
    strategy: { groups: 1 },
    ...(mask ? { mask } : {}),
  });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  return revision;
}

/** `kubectl set image pod/<pod> app=<image>`: a hand edit of one pod's image. */
async function setPodImage(pod: string, image: string): Promise<void> {
  await core.patchNamespacedPod(
    { name: pod, namespace: ns, fieldManager: 'kubectl-set', body: { spec: { containers: [{ name: 'app', image }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

function findingsOf(report: DriftReport) {
  return report.apps.flatMap((a) => a.cells.flatMap((c) => c.findings));
}

test('kubectl set image on one pod: the next run puts it back in place under load, losing no request; a dry run before changes nothing', async () => {
  const name = uniqueName('drift-img');
  await deploy(
    appSpec(name, 'registry.local/drift:1', {
      cells: ['rz00a'],
      replicasPerCell: 3,
      traffic: [{ name: 'service' }, { name: 'rpc' }, { name: 'dns' }],
    }),
  );
  const pod = `${name}-rz00a-1`;
  const uid = (await core.readNamespacedPod({ name: pod, namespace: ns })).metadata?.uid;
  await setPodImage(pod, 'registry.local/evil:1');
  // the hand edit restarts the container (requests to it are lost then: that is the drift, not the repair); the
  // load starts once it serves again and every component routes to it (the sandbox's components route to every
  // pod, so the App declares all three: a component it does not declare is one the drain does not wait for)
  await eventually(
    'the pod to serve the hand-set image',
    async () => {
      const p = await core.readNamespacedPod({ name: pod, namespace: ns });
      const c = p.status?.containerStatuses?.[0];
      const routed = ['service', 'rpc', 'dns'].every((t) => p.metadata?.finalizers?.includes(`traffic.barista.dev/${t}`));
      return c?.image === 'registry.local/evil:1' && c.ready && routed ? true : undefined;
    },
    60_000,
  );

  const dry = await drift(name, { dryRun: true });
  expect(findingsOf(dry)).toEqual([
    expect.objectContaining({
      object: `pod/${pod}`,
      field: 'spec.containers[name=app].image',
      expected: 'registry.local/drift:1',
      actual: 'registry.local/evil:1',
      outcome: 'found',
    }),
  ]);
  expect(imageOf(await core.readNamespacedPod({ name: pod, namespace: ns }))).toBe('registry.local/evil:1');

  const generator = new TrafficGenerator({
    kubeconfig: h.sandbox.info.kubeconfig,
    clusters: [CLUSTER],
    namespace: ns,
    selector: `barista.dev/app=${name}`,
    requestsPerSecond: 300,
    maxDurationMs: 120_000,
  });
  await generator.start();
  let report: DriftReport;
  try {
    report = await drift(name);
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    await generator.stop();
  }
  expect(findingsOf(report)).toEqual([expect.objectContaining({ object: `pod/${pod}`, outcome: 'repaired' })]);
  expect(report.apps[0]!.state).toBe('repaired');
  const pods = await appPods(h.sandbox, CLUSTER, ns, name);
  expect(pods.map(imageOf)).toEqual(['registry.local/drift:1', 'registry.local/drift:1', 'registry.local/drift:1']);
  expect(pods.map(gateOf)).toEqual(['True', 'True', 'True']);
  const repaired = pods.find((p) => p.metadata?.name === pod)!;
  expect(repaired.metadata?.uid).toBe(uid); // in place: same pod, same IP
  expect(generator.stats.sent).toBeGreaterThan(300);
  expect({ lost: generator.stats.lost, lostByPod: generator.stats.lostByPod }).toEqual({ lost: 0, lostByPod: {} });

  // nothing left: the next run finds the App clean
  expect((await drift(name)).apps[0]).toMatchObject({ state: 'clean' });
});

test('a deleted StatefulSet is recreated and its pods come back at the recorded revision', async () => {
  const name = uniqueName('drift-sts');
  const revision = await deploy(appSpec(name, 'registry.local/drift:1', { cells: ['rz00b'], replicasPerCell: 2 }));
  await apps.deleteNamespacedStatefulSet({ name: `${name}-rz00b`, namespace: ns });
  await eventually(
    'the pods to be gone',
    async () => ((await appPods(h.sandbox, CLUSTER, ns, name)).length === 0 ? true : undefined),
    60_000,
  );

  const report = await drift(name);
  expect(findingsOf(report)).toEqual([
    expect.objectContaining({ object: `statefulset/${name}-rz00b`, field: '(object)', outcome: 'repaired' }),
  ]);
  const pods = await eventually(
    'the pods back, serving',
    async () => {
      const pods = await appPods(h.sandbox, CLUSTER, ns, name);
      return pods.length === 2 && pods.every((p) => gateOf(p) === 'True') ? pods : undefined;
    },
    90_000,
  );
  expect(pods.map(imageOf)).toEqual(['registry.local/drift:1', 'registry.local/drift:1']);
  expect(pods.map((p) => p.metadata?.labels?.['barista.dev/revision'])).toEqual([String(revision), String(revision)]);
});

test('a spec annotation edited is put back, a status annotation is left; replicas another manager owns are not touched', async () => {
  const name = uniqueName('drift-meta');
  const spec = {
    ...appSpec(name, 'registry.local/drift:1', { cells: ['rz01a'], replicasPerCell: 2 }),
    template: { containers: [{ name: 'app', image: 'registry.local/drift:1' }], annotations: { 'example.com/owner': 'team-a' } },
    metadataPolicy: { spec: ['example.com/*'], status: ['status.example.com/*'] },
  };
  await deploy(spec);
  const kc2 = h.sandbox.kubeConfig('kc2');
  const core2 = kc2.makeApiClient(CoreV1Api);
  const apps2 = kc2.makeApiClient(AppsV1Api);
  const pod = `${name}-rz01a-0`;
  await core2.patchNamespacedPod(
    {
      name: pod,
      namespace: ns,
      fieldManager: 'kubectl-annotate',
      body: { metadata: { annotations: { 'example.com/owner': 'mallory', 'status.example.com/probe': 'ok' } } },
    },
    mergePatch,
  );
  // an autoscaler takes the replicas over (through the scale subresource, as the HPA controller does)
  await apps2.patchNamespacedStatefulSetScale(
    { name: `${name}-rz01a`, namespace: ns, fieldManager: 'horizontal-pod-autoscaler', body: { spec: { replicas: 3 } } },
    mergePatch,
  );

  const report = await drift(name);
  expect(findingsOf(report)).toEqual([
    expect.objectContaining({
      object: `pod/${pod}`,
      field: 'metadata.annotations[example.com/owner]',
      expected: 'team-a',
      actual: 'mallory',
      outcome: 'repaired',
    }),
  ]);
  const after = await core2.readNamespacedPod({ name: pod, namespace: ns });
  expect(after.metadata?.annotations?.['example.com/owner']).toBe('team-a');
  expect(after.metadata?.annotations?.['status.example.com/probe']).toBe('ok');
  expect((await apps2.readNamespacedStatefulSet({ name: `${name}-rz01a`, namespace: ns })).spec?.replicas).toBe(3);
});

test('a cell masked out of the last release (older recorded revision) is left alone; an App with a release in flight is skipped', async () => {
  const name = uniqueName('drift-mask');
  const base = (image: string) => appSpec(name, image, { cells: ['rz01a', 'rz01b'], replicasPerCell: 1 });
  await deploy(base('registry.local/drift:1'));
  await deploy(base('registry.local/drift:2'), ['rz01a']);
  const report = await drift(name);
  expect(report.apps[0]).toMatchObject({ state: 'clean' });
  expect(report.apps[0]!.cells.map((c) => [c.cell, c.revision, c.state])).toEqual([
    ['rz01a', 2, 'clean'],
    ['rz01b', 1, 'clean'],
  ]);
  const core2 = h.sandbox.kubeConfig('kc2').makeApiClient(CoreV1Api);
  expect(imageOf(await core2.readNamespacedPod({ name: `${name}-rz01b-0`, namespace: ns }))).toBe('registry.local/drift:1');

  // a release waiting at its gate: drift repair keeps off the App
  await h.releases.upsertApp(base('registry.local/drift:3'), 'alice');
  const ref = await h.releases.startRelease({
    app: name,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  await eventually(
    'the release at its gate',
    async () => ((await h.releases.status(ref)).state === 'waiting-approval' ? true : undefined),
    60_000,
  );
  const during = await drift(name);
  expect(during.apps[0]).toMatchObject({ state: 'skipped', reason: expect.stringContaining(`release/acme/${name}`) });
  await h.releases.act(ref, 'abort', { by: 'alice', reason: 'test over' });
  await h.releases.result(ref);
});

test('a field that drifts again after each repair is quarantined after quarantineAfter repairs, and then left alone', async () => {
  const name = uniqueName('drift-q');
  await deploy({ ...appSpec(name, 'registry.local/drift:1', { cells: ['rz00a'], replicasPerCell: 1 }), drift: { quarantineAfter: 1 } });
  const pod = `${name}-rz00a-0`;
  await setPodImage(pod, 'registry.local/evil:1');
  expect(findingsOf(await drift(name))).toEqual([expect.objectContaining({ outcome: 'repaired' })]);
  await setPodImage(pod, 'registry.local/evil:2');
  const second = await drift(name);
  expect(findingsOf(second)).toEqual([
    expect.objectContaining({
      field: 'spec.containers[name=app].image',
      outcome: 'quarantined',
      reason: expect.stringContaining('drift.ignore'),
    }),
  ]);
  expect(imageOf(await core.readNamespacedPod({ name: pod, namespace: ns }))).toBe('registry.local/evil:2');
});

test('through the API: a releaser starts a dry run of one App and reads its report; a viewer cannot start one', async () => {
  const name = uniqueName('drift-api');
  await deploy(appSpec(name, 'registry.local/drift:1', { cells: ['rz00b'], replicasPerCell: 1 }));
  await setPodImage(`${name}-rz00b-0`, 'registry.local/evil:1');
  const api = await startHttpApi(h, [
    { token: 'rel', name: 'rita', roles: ['releaser'], tenants: ['acme'] },
    { token: 'view', name: 'vic', roles: ['viewer'], tenants: ['acme'] },
  ]);
  try {
    expect((await api.call('POST', '/v1/tenants/acme/drift/runs', 'view', { apps: [name], dryRun: true })).status).toBe(403);
    const started = await api.call('POST', '/v1/tenants/acme/drift/runs', 'rel', { apps: [name], dryRun: true });
    expect(started.status).toBe(202);
    await h.client.workflow.getHandle(started.body.workflowId).result();
    const listed = await api.call('GET', `/v1/tenants/acme/drift?app=${name}&limit=5`, 'view');
    expect(listed.status).toBe(200);
    const run = listed.body.runs.find((r: { workflowId: string }) => r.workflowId === started.body.workflowId);
    expect(run).toMatchObject({ status: 'COMPLETED', by: 'rita', dryRun: true });
    expect(findingsOf(run.report)).toEqual([
      expect.objectContaining({ object: `pod/${name}-rz00b-0`, field: 'spec.containers[name=app].image', outcome: 'found' }),
    ]);
    expect(imageOf(await core.readNamespacedPod({ name: `${name}-rz00b-0`, namespace: ns }))).toBe('registry.local/evil:1');
  } finally {
    await api.close();
  }
});
