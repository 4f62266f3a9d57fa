import { CoreV1Api } from '@kubernetes/client-node';
import { uniqueName } from '../support/sandbox.js';
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
const spec = (name: string, image: string, cells: string[], replicasPerCell: number) => appSpec(name, image, { cells, replicasPerCell });

/** Registers `app` at image v1 and releases it everywhere, so a second revision has something to change. */
async function deployed(app: string, cells: string[], replicas: number) {
  const { revision } = await h.releases.upsertApp(spec(app, 'registry.local/svc:1.0', cells, replicas), 'alice');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  return revision;
}

test('a bad image pauses the release with the pod, step and reason; rollback restores the previous image', async () => {
  const app = uniqueName('bad');
  await deployed(app, ['rz01a'], 2);
  const badImage = `registry.local/svc:${uniqueName('broken')}`;
  await h.sandbox.control.setImageBad(badImage);
  await h.releases.upsertApp(spec(app, badImage, ['rz01a'], 2), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    // long enough for a healthy pod on a busy machine (a cold API server once took over 3 s to show a new image)
    strategy: { groups: 2, podTimeoutSeconds: 10, gate: { type: 'manual' } },
  });
  const paused = await waitForStatus(h.releases, ref, 'paused on the bad pod', (s) => s.state === 'paused');
  expect(paused.paused).toMatchObject({ pod: `${app}-rz01a-1`, step: 'await-ready', by: 'barista' });
  expect(paused.paused?.reason).toMatch(/ErrImagePull/);
  expect(paused.pods.find((p) => p.name === `${app}-rz01a-1`)).toMatchObject({ state: 'failed', step: 'await-ready' });
  // the other pod was never touched
  expect(imageOf((await appPods(h.sandbox, 'kc2', ns, app)).find((p) => p.metadata?.name === `${app}-rz01a-0`)!)).toBe(
    'registry.local/svc:1.0',
  );

  await h.releases.rollback(ref, { by: 'oncall', reason: 'bad build' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('rolled-back');
  expect(final.audit.map((a) => a.action)).toEqual(
    expect.arrayContaining(['pod-failed', 'rollback-requested', 'rollback-started', 'finished']),
  );
  const pods = await appPods(h.sandbox, 'kc2', ns, app);
  expect(pods.map(imageOf)).toEqual(['registry.local/svc:1.0', 'registry.local/svc:1.0']);
  expect(pods.every((p) => gateOf(p) === 'True')).toBe(true);
});

test('an auto gate verifies each group for its window, then goes on by itself', async () => {
  const app = uniqueName('auto');
  await deployed(app, ['rz01b'], 4);
  await h.releases.upsertApp(spec(app, 'registry.local/svc:2.0', ['rz01b'], 4), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'ci',
    strategy: { groups: 2, gate: { type: 'auto', windowSeconds: 2 } },
  });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.gates).toEqual([expect.objectContaining({ group: 0, type: 'auto', state: 'passed', decidedBy: 'barista' })]);
  expect((await appPods(h.sandbox, 'kc2', ns, app)).map(imageOf)).toEqual(Array(4).fill('registry.local/svc:2.0'));
});

test('an auto gate sees a pod of its group replaced during the window, and pauses with the pod named', async () => {
  const app = uniqueName('verify');
  await deployed(app, ['rz01b'], 2);
  await h.releases.upsertApp(spec(app, 'registry.local/svc:2.1', ['rz01b'], 2), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'ci',
    strategy: { groups: 2, gate: { type: 'auto', windowSeconds: 60, timeoutSeconds: 120 } },
  });
  const verifying = await waitForStatus(h.releases, ref, 'verifying group 0', (s) => s.state === 'verifying');
  const victim = verifying.groups[0]!.pods[0]!;
  await h.sandbox.kubeConfig('kc2').makeApiClient(CoreV1Api).deleteNamespacedPod({ name: victim, namespace: ns });
  const paused = await waitForStatus(h.releases, ref, 'paused by the failed verification', (s) => s.state === 'paused');
  expect(paused.paused).toMatchObject({ step: 'gate', by: 'barista' });
  expect(paused.paused?.reason).toMatch(new RegExp(`verification of group 0 failed: pod ${victim} was replaced during verification`));
  expect(paused.gates[0]).toMatchObject({ state: 'failed' });
  // a person who has looked at it lets the release go on
  await h.releases.approve(ref, { by: 'oncall', group: 0, reason: 'replaced by hand' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.gates[0]).toMatchObject({ state: 'passed', decidedBy: 'oncall' });
});

test('abort in the middle of a group finishes the pod in hand, stops, and reports what changed', async () => {
  const app = uniqueName('abort');
  await deployed(app, ['rz01a', 'rz01b'], 3);
  await h.releases.upsertApp(spec(app, 'registry.local/svc:3.0', ['rz01a', 'rz01b'], 3), 'alice');
  await h.sandbox.control.setStartLatency('kc2', 1500);
  try {
    const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
    await waitForStatus(h.releases, ref, 'the first pod in progress', (s) => s.pods.some((p) => p.state === 'in-progress'));
    await h.releases.abort(ref, { by: 'oncall', reason: 'stop' });
    const final = await h.releases.result(ref);
    expect(final.state).toBe('aborted');
    const changed = final.changedPods;
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThan(6);
    const pods = await appPods(h.sandbox, 'kc2', ns, app);
    const upgraded = pods.filter((p) => imageOf(p) === 'registry.local/svc:3.0').map((p) => p.metadata!.name!);
    expect(upgraded.sort()).toEqual([...changed].sort());
    // the pod in hand was finished, not left drained
    expect(pods.every((p) => gateOf(p) === 'True')).toBe(true);
    expect(final.pods.filter((p) => p.state === 'pending').length).toBe(6 - changed.length);
  } finally {
    await h.sandbox.control.setStartLatency('kc2', 300);
  }
});
