import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

/**
 * Waits share one watch per cluster: a release's pod steps (locate, drain, upgrade, ready, mount) listen to the
 * worker's shared cache of Barista's pods instead of each opening watches of its own, so the pod watches the API
 * server serves do not grow with the pods in flight.
 */
let h: ReleaseHarness;
beforeAll(async () => {
  h = await startReleaseHarness();
});
afterAll(async () => {
  await h?.stop();
});

/**
 * Namespaced WATCH requests on pods the cluster's API server has served (counted as each one ends). A watch of
 * one pod is namespaced; the long-lived caches (the worker's, the gate keeper's, the traffic components', the
 * simulated kubelets') watch every namespace and renew every 30 s, so counting them would only count time.
 */
async function podWatches(cluster: string): Promise<number> {
  const metrics = await h.sandbox.control.apiServerMetrics(cluster);
  return metrics
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('apiserver_request_total{') &&
        l.includes('verb="WATCH"') &&
        l.includes('resource="pods"') &&
        l.includes('scope="namespace"'),
    )
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

test('a release of 10 pods waits on the shared watch: the API server serves no pod watch per pod step', async () => {
  const app = uniqueName('shared');
  const spec = (image: string) => appSpec(app, image, { cells: ['rz01a', 'rz01b'], replicasPerCell: 5, traffic: [{ name: 'rpc' }] });
  const { revision } = await h.releases.upsertApp(spec('registry.local/shared:1'), 'alice');
  const first = await h.releases.startRelease({ app, tenant: 'acme', revision, requestedBy: 'alice', strategy: { groups: 1 } });
  expect((await h.releases.result(first)).state).toBe('succeeded');

  await h.releases.upsertApp(spec('registry.local/shared:2'), 'alice');
  const before = await podWatches('kc2');
  const ref = await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1, maxConcurrentPods: 10 } });
  const final = await h.releases.result(ref);
  expect(final.state).toBe('succeeded');
  expect(final.pods.filter((p) => p.state === 'done' && p.changed)).toHaveLength(10);
  await new Promise((r) => setTimeout(r, 2_000)); // a watch is counted when it ends
  const watches = (await podWatches('kc2')) - before;
  // each pod step waited several times (drain, ready, mount): with a watch of its own that is 30 or more; the
  // shared cache needs none (the release's own namespaced waits, e.g. a group's stability watch, are a few)
  console.log(`pod watches served by kc2 during a 10-pod release: ${watches}`);
  expect(watches).toBeLessThan(10);
}, 240_000);
