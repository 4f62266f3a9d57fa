import { eventually, uniqueName } from '../support/sandbox.js';
import { appPods, gateOf, imageOf, startReleaseHarness, waitForStatus, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

const spec = (name: string, image: string, env?: Record<string, string>) =>
  appSpec(name, image, { cells: ['rz00b'], ...(env ? { env } : {}) });

async function deployed(app: string) {
  const { revision } = await h.releases.upsertApp(spec(app, 'registry.local/op:1'), 'alice');
  expect(
    (
      await h.releases.result(
        await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } }),
      )
    ).state,
  ).toBe('succeeded');
}

test('recreate mode replaces each pod (new uid) at the new revision, gate opened after ready', async () => {
  const app = uniqueName('recreate');
  await deployed(app);
  const before = new Map((await appPods(h.sandbox, 'kc1', 'acme-prod', app)).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  await h.releases.upsertApp(spec(app, 'registry.local/op:2'), 'alice');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, mode: 'recreate' } });
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  for (const pod of await appPods(h.sandbox, 'kc1', 'acme-prod', app)) {
    expect(imageOf(pod)).toBe('registry.local/op:2');
    expect(pod.metadata?.uid).not.toBe(before.get(pod.metadata!.name!));
    expect(gateOf(pod)).toBe('True');
  }
});

test('an env change cannot be made in place: the pod is recreated even in in-place mode', async () => {
  const app = uniqueName('envchange');
  await deployed(app);
  const before = new Map((await appPods(h.sandbox, 'kc1', 'acme-prod', app)).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  await h.releases.upsertApp(spec(app, 'registry.local/op:1', { MODE: 'fast' }), 'alice');
  expect(
    (await h.releases.result(await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } }))).state,
  ).toBe('succeeded');
  for (const pod of await appPods(h.sandbox, 'kc1', 'acme-prod', app)) {
    expect(pod.spec?.containers[0]?.env).toEqual([{ name: 'MODE', value: 'fast' }]);
    expect(pod.metadata?.uid).not.toBe(before.get(pod.metadata!.name!));
  }
});

test('skip-pod takes a failing pod out of the release; promote-all passes the remaining gates; pause holds new pods until resume', async () => {
  const app = uniqueName('operator');
  await deployed(app);
  const bad = `registry.local/op:${uniqueName('bad')}`;
  await h.sandbox.control.setImageBad(bad);
  await h.releases.upsertApp(spec(app, bad), 'alice');
  const ref = await h.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    // long enough for a healthy pod on a busy machine (a cold API server once took over 3 s to show a new image)
    strategy: { groups: 3, podTimeoutSeconds: 10, gate: { type: 'manual' } },
  });
  const paused = await waitForStatus(
    h.releases,
    ref,
    'paused on the first pod',
    (s) => s.state === 'paused' && s.paused?.pod !== undefined,
  );
  const stuck = paused.paused!.pod!;
  // the operator fixes the image and lets the other pods through, skipping the broken one
  await h.sandbox.control.setImageBad(bad, false);
  await h.releases.pause(ref, { by: 'oncall', reason: 'hold while we look' });
  await h.releases.skipPod(ref, { by: 'oncall', pod: stuck });
  const held = await waitForStatus(h.releases, ref, 'held by the operator pause', (s) => s.state === 'paused' && s.paused?.by === 'oncall');
  expect(held.pods.find((p) => p.name === stuck)?.state).toBe('skipped');
  await new Promise((r) => setTimeout(r, 1_500));
  expect((await h.releases.status(ref)).pods.filter((p) => p.state === 'in-progress' || p.state === 'done')).toEqual([]);
  await h.releases.resume(ref, { by: 'oncall' });
  await h.releases.promoteAll(ref, { by: 'oncall', reason: 'fix verified' });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.gates.every((g) => g.state === 'skipped' && g.decidedBy === 'oncall')).toBe(true);
  expect(final.pods.filter((p) => p.state === 'done')).toHaveLength(2);
  expect(final.audit.map((a) => a.action)).toEqual(expect.arrayContaining(['skip-pod', 'paused', 'resumed', 'promote-all']));
  // the skipped pod was handed back: no drain mark left, and the gate keeper opened it once it was ready
  await eventually('the skipped pod to serve again', async () => {
    const pod = (await appPods(h.sandbox, 'kc1', 'acme-prod', app)).find((p) => p.metadata?.name === stuck);
    const gate = pod?.status?.conditions?.find((c) => c.type === 'barista.dev/traffic-ready');
    return gate?.status === 'True' && gate.reason === 'OpenedByGateKeeper' ? pod : undefined;
  });
});
