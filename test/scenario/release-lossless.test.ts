import { TrafficGenerator, type TrafficStats } from '../../sandbox/index.js';
import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';

const spec = (name: string, image: string) =>
  appSpec(name, image, { cells: ['rz00a', 'rz00b'], traffic: [{ name: 'service' }, { name: 'rpc' }, { name: 'dns' }] });

/** Deploys v1, then under continuous load releases v2 and rolls back to v1; returns what the generator counted. */
async function releaseUnderLoad(h: ReleaseHarness, app: string): Promise<TrafficStats> {
  const { revision: r1 } = await h.releases.upsertApp(spec(app, 'registry.local/l:1'), 'alice');
  expect(
    (
      await h.releases.result(
        await h.releases.startRelease({ app, tenant: 'acme', revision: r1, requestedBy: 'alice', strategy: { groups: 1 } }),
      )
    ).state,
  ).toBe('succeeded');
  const generator = new TrafficGenerator({
    kubeconfig: h.sandbox.info.kubeconfig,
    clusters: ['kc1'],
    namespace: 'acme-prod',
    selector: `barista.dev/app=${app}`,
    requestsPerSecond: 500,
    maxDurationMs: 150_000,
  });
  await generator.start();
  try {
    await h.releases.upsertApp(spec(app, 'registry.local/l:2'), 'alice');
    const up = await h.releases.startRelease({
      app,
      tenant: 'acme',
      requestedBy: 'alice',
      strategy: { groups: 2, maxConcurrentPods: 2, gate: { type: 'timed', seconds: 1 } },
    });
    expect((await h.releases.result(up)).state).toBe('succeeded');
    const back = await h.releases.startRelease({
      app,
      tenant: 'acme',
      revision: r1,
      requestedBy: 'alice',
      reason: 'rollback',
      strategy: { groups: 1, maxConcurrentPods: 2 },
    });
    expect((await h.releases.result(back)).state).toBe('succeeded');
  } finally {
    await generator.stop();
  }
  return generator.stats;
}

describe('with the drain protocol', () => {
  let h: ReleaseHarness;
  beforeAll(async () => {
    h = await startReleaseHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('a release and a rollback under continuous load lose no request', async () => {
    const stats = await releaseUnderLoad(h, uniqueName('lossless'));
    expect(stats.sent).toBeGreaterThan(1_000);
    expect(stats.unroutable).toBe(0);
    expect(stats).toMatchObject({ lost: 0, lostByPod: {} });
  }, 480_000); // above three bounded waits of 150 s, so a stuck release fails with its status, not jest's timeout
});

describe('control run: draining turned off (test-only switch)', () => {
  let h: ReleaseHarness;
  beforeAll(async () => {
    h = await startReleaseHarness({ skipDrainForTests: true });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('the same release under the same load does lose requests, so the counter can see loss', async () => {
    const stats = await releaseUnderLoad(h, uniqueName('lossy'));
    expect(stats.sent).toBeGreaterThan(1_000);
    expect(stats.lost).toBeGreaterThan(0);
  });
});
