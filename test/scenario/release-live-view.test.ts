import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/**
 * The live view on the real sandbox: while a pod is in flight, the status names the step it is in now (from the
 * attempt's heartbeat details, sent at each new step) and since when, not just "in progress".
 */
let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

test('each in-flight pod shows its current step and time in it as the release moves it', async () => {
  const app = uniqueName('live');
  const spec = (image: string) =>
    appSpec(app, image, { cells: ['rz01a'], replicasPerCell: 2, traffic: ['service', 'rpc', 'dns'].map((c) => ({ name: c })) });
  await h.releases.upsertApp(spec(`registry.local/${app}:1`), 'alice');
  expect(
    (await h.releases.result(await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } }))).state,
  ).toBe('succeeded');
  await h.releases.upsertApp(spec(`registry.local/${app}:2`), 'alice');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 1 } });
  const seen = new Map<string, Set<string>>();
  let sinceSeen = false;
  for (;;) {
    const s = await h.releases.status(ref);
    for (const p of s.pods.filter((x) => x.state === 'in-progress' && x.step)) {
      seen.set(p.name, (seen.get(p.name) ?? new Set()).add(p.step!));
      if (p.stepSince && Date.parse(p.stepSince) <= Date.now()) sinceSeen = true;
    }
    if (['succeeded', 'failed', 'paused', 'aborted', 'rolled-back'].includes(s.state)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect((await h.releases.result(ref)).state).toBe('succeeded');
  // the drain (the traffic components letting go) takes seconds: every pod was seen in it, and in a later step
  for (const steps of seen.values()) expect(steps.has('drain')).toBe(true);
  expect([...seen.values()].some((steps) => steps.size >= 2)).toBe(true);
  expect(seen.size).toBe(2);
  expect(sinceSeen).toBe(true);
});
