import { uniqueName } from '../support/sandbox.js';
import { appPods, gateOf, startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/**
 * Waiting pod steps hold no activity slot (activities/detached.ts): a worker with 2 activity slots still has
 * all 8 pods of a release drained and upgrading at once, as `maxConcurrentPods` asks. Were each pod step to hold
 * its slot for its waits, no more than 2 pods could be out of traffic at any moment.
 */
const SLOTS = 2;
let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness({ maxConcurrentActivities: SLOTS });
});
afterAll(async () => {
  await h?.stop();
});

test(`a worker with ${SLOTS} activity slots moves 8 pods at once: the waits run detached`, async () => {
  const app = uniqueName('detached');
  const spec = (image: string) => appSpec(app, image, { cells: ['rz00b'], replicasPerCell: 8, traffic: [{ name: 'rpc' }] });
  const { revision } = await h.releases.upsertApp(spec('registry.local/detached:1'), 'alice');
  const first = await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(first)).state).toBe('succeeded');

  await h.releases.upsertApp(spec('registry.local/detached:2'), 'alice');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 8 } });
  // how many pods are out of traffic (gate False: drained, upgrading, starting) at once, sampled every 100 ms
  let most = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const pods = await appPods(h.sandbox, 'kc1', 'acme-prod', app);
      most = Math.max(most, pods.filter((p) => gateOf(p) === 'False').length);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const final = await h.releases.result(ref);
  sampling = false;
  await sampler;
  expect(final.state).toBe('succeeded');
  expect(final.pods.filter((p) => p.state === 'done' && p.changed)).toHaveLength(8);
  console.log(`pods out of traffic at once with ${SLOTS} activity slots: ${most}`);
  expect(most).toBeGreaterThan(SLOTS);
  const pods = await appPods(h.sandbox, 'kc1', 'acme-prod', app);
  expect(pods.every((p) => gateOf(p) === 'True' && p.spec?.containers[0]?.image === 'registry.local/detached:2')).toBe(true);
}, 240_000);
