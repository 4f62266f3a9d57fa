import { AppsV1Api, CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { uniqueName, eventually } from '../support/sandbox.js';
import { appPods, gateOf, imageOf, startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

const ns = 'acme-prod';
const FINALIZERS = ['traffic.barista.dev/service', 'traffic.barista.dev/rpc', 'traffic.barista.dev/dns'];
const spec = (name: string, image: string, timeout = 30) =>
  appSpec(name, image, {
    cells: ['rz01b'],
    traffic: ['service', 'rpc', 'dns'].map((c) => ({ name: c, deregistrationTimeoutSeconds: timeout })),
  });
const traffic = (pod: V1Pod) => (pod.metadata?.finalizers ?? []).filter((f) => f.startsWith('traffic.barista.dev/')).sort();

async function deployed(app: string, timeout?: number) {
  const { revision } = await h.releases.upsertApp(spec(app, 'registry.local/t:1', timeout), 'alice');
  expect(
    (
      await h.releases.result(
        await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } }),
      )
    ).state,
  ).toBe('succeeded');
  const pods = await appPods(h.sandbox, 'kc2', ns, app);
  for (const pod of pods) expect(traffic(pod)).toEqual([...FINALIZERS].sort());
  return pods;
}

test('every pod is drained by all its traffic components before it restarts, and mounted again before it is done', async () => {
  const app = uniqueName('drain');
  const before = await deployed(app);
  // watch every change of the app's pods during the release: a restart must never be seen while routed
  const violations: string[] = [];
  let restarts = 0;
  const watch = await new Watch(h.sandbox.kubeConfig('kc2')).watch(
    `/api/v1/namespaces/${ns}/pods`,
    { labelSelector: `barista.dev/app=${app}` },
    (_type, pod: V1Pod) => {
      const cs = pod.status?.containerStatuses?.[0];
      if (cs && !cs.ready && cs.restartCount > 0) {
        restarts++;
        if (traffic(pod).length > 0) violations.push(`${pod.metadata?.name} restarting while routed by ${traffic(pod).join(', ')}`);
      }
    },
    () => undefined,
  );
  try {
    await h.releases.upsertApp(spec(app, 'registry.local/t:2'), 'alice');
    const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
    expect((await h.releases.result(ref)).state).toBe('succeeded');
  } finally {
    watch.abort();
  }
  expect(restarts).toBeGreaterThan(0);
  expect(violations).toEqual([]);
  const after = await appPods(h.sandbox, 'kc2', ns, app);
  for (const pod of after) {
    expect(imageOf(pod)).toBe('registry.local/t:2');
    expect(traffic(pod)).toEqual([...FINALIZERS].sort());
    expect(gateOf(pod)).toBe('True');
    // opened by the release itself: the drain mark (the gate's reason) is gone with the same write
    expect(pod.status?.conditions?.find((c) => c.type === 'barista.dev/traffic-ready')?.reason).toBe('ReleasedByBarista');
    expect(pod.status?.podIP).toBe(before.find((p) => p.metadata?.name === pod.metadata?.name)?.status?.podIP);
  }
});

test('a component that never lets go pauses the release naming the pod, the step and the component; resume retries', async () => {
  const app = uniqueName('stuck');
  // 8 s: time for dns (2 s deregistration delay) to let go under load, not for rpc (110 s)
  await deployed(app, 8);
  await h.sandbox.control.setDeregistrationDelay('rpc', 110_000);
  try {
    await h.releases.upsertApp(spec(app, 'registry.local/t:2', 8), 'alice');
    const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
    const paused = await waitForStatus(h.releases, ref, 'paused at drain', (s) => s.state === 'paused');
    expect(paused.paused).toMatchObject({ pod: `${app}-rz01b-2`, step: 'drain' });
    expect(paused.paused?.reason).toMatch(/traffic component rpc to let go/);
    expect(paused.paused?.reason).not.toMatch(/dns/);
    // the pod was not upgraded while rpc still routed to it
    const stuck = (await appPods(h.sandbox, 'kc2', ns, app)).find((p) => p.metadata?.name === `${app}-rz01b-2`)!;
    expect(imageOf(stuck)).toBe('registry.local/t:1');
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
    await h.releases.resume(ref, { by: 'oncall' });
    expect((await h.releases.result(ref)).state).toBe('succeeded');
  } finally {
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
  }
});

test('abort of a release paused in a drain ends aborted and hands the drained pod back: its gate opens again', async () => {
  const app = uniqueName('abortdrain');
  await deployed(app, 8);
  await h.sandbox.control.setDeregistrationDelay('rpc', 110_000);
  try {
    await h.releases.upsertApp(spec(app, 'registry.local/t:2', 8), 'alice');
    const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
    const paused = await waitForStatus(h.releases, ref, 'paused at drain', (s) => s.state === 'paused');
    expect(paused.paused).toMatchObject({ pod: `${app}-rz01b-2`, step: 'drain' });
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
    await h.releases.abort(ref, { by: 'oncall', reason: 'not today' });
    const final = await h.releases.result(ref);
    expect(final.state).toBe('aborted');
    expect(final.changedPods).toEqual([]);
    // handed back: the gate keeper opens it (its containers are ready) and the components mount it again
    const pod = await eventually(
      'the drained pod serving again',
      async () => {
        const p = (await appPods(h.sandbox, 'kc2', ns, app)).find((x) => x.metadata?.name === `${app}-rz01b-2`);
        return p && gateOf(p) === 'True' && traffic(p).length === FINALIZERS.length ? p : undefined;
      },
      60_000,
    );
    expect(imageOf(pod)).toBe('registry.local/t:1');
  } finally {
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
  }
});

test('each traffic component is held to its own deadline: rpc stuck past its 20 s pauses the release naming rpc, long before the 120 s of dns', async () => {
  const app = uniqueName('owndeadline');
  const traffic = [
    { name: 'service', deregistrationTimeoutSeconds: 30 },
    { name: 'rpc', deregistrationTimeoutSeconds: 20 },
    { name: 'dns', deregistrationTimeoutSeconds: 120 },
  ];
  const withTraffic = (image: string) => ({ ...spec(app, image), traffic });
  const { revision } = await h.releases.upsertApp(withTraffic('registry.local/t:1'), 'alice');
  const first = await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(first)).state).toBe('succeeded');
  await h.sandbox.control.setDeregistrationDelay('rpc', 110_000);
  try {
    await h.releases.upsertApp(withTraffic('registry.local/t:2'), 'alice');
    const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
    // paused well before 120 s: held to the largest deadline of all (dns), the drain would still be waiting
    const paused = await waitForStatus(h.releases, ref, 'paused at drain by rpc', (s) => s.state === 'paused', 90_000);
    expect(paused.paused).toMatchObject({ pod: `${app}-rz01b-2`, step: 'drain' });
    expect(paused.paused?.reason).toMatch(/traffic component rpc to let go of the pod \(past its timeout: rpc 20s\)/);
    expect(paused.paused?.reason).not.toMatch(/dns|service/);
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
    await h.releases.resume(ref, { by: 'oncall' });
    expect((await h.releases.result(ref)).state).toBe('succeeded');
  } finally {
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
  }
});

test('a pod deleted while it drains is awaited as its replacement at the new revision, without a failed attempt', async () => {
  const app = uniqueName('vanish');
  await deployed(app, 30);
  const core = h.sandbox.kubeConfig('kc2').makeApiClient(CoreV1Api);
  const retries = async () =>
    (await h.metrics.activityRetries.get()).values.find((v) => v.labels.activity === 'ensurePodReleased')?.value ?? 0;
  const retriesBefore = await retries();
  await h.sandbox.control.setDeregistrationDelay('rpc', 110_000);
  try {
    await h.releases.upsertApp(spec(app, 'registry.local/t:2', 30), 'alice');
    const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
    // the pod in hand is drained but rpc still holds it: delete it now
    const draining = await eventually('a pod held by rpc while it drains', async () =>
      (await appPods(h.sandbox, 'kc2', ns, app)).find((p) => gateOf(p) === 'False' && traffic(p).includes('traffic.barista.dev/rpc')),
    );
    await core.deleteNamespacedPod({ name: draining.metadata!.name!, namespace: ns });
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
    const done = await waitForStatus(h.releases, ref, 'the release finished', (s) => s.finishedAt !== undefined, 150_000).catch(
      async (err: unknown) => {
        const s = await h.releases.status(ref);
        const pods = await appPods(h.sandbox, 'kc2', ns, app);
        throw new Error(
          `${String(err)}: ${JSON.stringify({ state: s.state, paused: s.paused, pods: s.pods.map((p) => [p.name, p.state, p.step, p.error]) })} ${JSON.stringify(
            pods.map((p) => [
              p.metadata?.name,
              p.metadata?.uid,
              p.metadata?.labels,
              imageOf(p),
              gateOf(p),
              traffic(p),
              p.metadata?.deletionTimestamp,
            ]),
          )}`,
        );
      },
    );
    expect(done.state).toBe('succeeded');
    const replacement = (await appPods(h.sandbox, 'kc2', ns, app)).find((p) => p.metadata?.name === draining.metadata?.name)!;
    expect(replacement.metadata?.uid).not.toBe(draining.metadata?.uid);
    expect(imageOf(replacement)).toBe('registry.local/t:2');
    expect(gateOf(replacement)).toBe('True');
    expect(await retries()).toBe(retriesBefore);
  } finally {
    await h.sandbox.control.setDeregistrationDelay('rpc', 1_500);
  }
});

test('a pod recreated outside a release gets its traffic gate opened and its traffic mounted within seconds', async () => {
  const app = uniqueName('keeper');
  await deployed(app);
  const core = h.sandbox.kubeConfig('kc2').makeApiClient(CoreV1Api);
  const name = `${app}-rz01b-0`;
  const old = await core.readNamespacedPod({ name, namespace: ns });
  await core.deleteNamespacedPod({ name, namespace: ns });
  const back = await eventually(
    'the recreated pod to serve',
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace: ns });
      return pod.metadata?.uid !== old.metadata?.uid && gateOf(pod) === 'True' && traffic(pod).length === 3 ? pod : undefined;
    },
    20_000,
  );
  expect(back.status?.conditions?.find((c) => c.type === 'barista.dev/traffic-ready')?.reason).toBe('OpenedByGateKeeper');
});

test('finalizers never leak: deleting the workload removes its pods although every component held them', async () => {
  const app = uniqueName('delete');
  await deployed(app);
  const apps = h.sandbox.kubeConfig('kc2').makeApiClient(AppsV1Api);
  await apps.deleteNamespacedStatefulSet({ name: `${app}-rz01b`, namespace: ns, propagationPolicy: 'Foreground' });
  await eventually(
    'every pod of the app to be gone',
    async () => ((await appPods(h.sandbox, 'kc2', ns, app)).length === 0 ? true : undefined),
    30_000,
  );
});

test('bad traffic declarations are refused with the field named', async () => {
  const app = uniqueName('badtraffic');
  const base = spec(app, 'registry.local/t:1');
  await expect(h.releases.upsertApp({ ...base, traffic: [{ name: 'carrier-pigeon' }] }, 'a')).rejects.toMatchObject({
    issues: [expect.objectContaining({ field: 'traffic[0].name' })],
  });
  await expect(h.releases.upsertApp({ ...base, traffic: [{ name: 'rpc' }, { name: 'rpc' }] }, 'a')).rejects.toMatchObject({
    issues: [expect.objectContaining({ field: 'traffic[1].name', message: expect.stringContaining('declared twice') })],
  });
  await expect(h.releases.upsertApp({ ...base, traffic: [{ name: 'dns', deregistrationTimeoutSeconds: 0 }] }, 'a')).rejects.toMatchObject({
    issues: [expect.objectContaining({ field: 'traffic[0].deregistrationTimeoutSeconds', message: expect.stringContaining('positive') })],
  });
  expect(await h.releases.getApp('acme', app)).toBeUndefined();
});
