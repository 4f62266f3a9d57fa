import { AuditStore } from '../../activities/audit-store.js';
import { uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { startHttpApi } from '../support/http-api.js';
import { deployApps } from '../support/deployed-apps.js';

/** The audit record's HTTP routes on the real API, store and sandbox: statistics of a tenant's releases. */
const tokens = { viewer: 'audit-viewer', other: 'audit-other' };
let h: ReleaseHarness;
let audit: AuditStore;
let api: Awaited<ReturnType<typeof startHttpApi>>;
beforeAll(async () => {
  h = await startReleaseHarness();
  audit = await AuditStore.open(h.sandbox.info.auditDatabaseUrl!);
  api = await startHttpApi(
    h,
    [
      { token: tokens.viewer, name: 'vic', roles: ['viewer'], tenants: ['acme'] },
      { token: tokens.other, name: 'gus', roles: ['admin'], tenants: ['globex'] },
    ],
    audit,
  );
});
afterAll(async () => {
  await api?.close();
  await audit?.close();
  await h?.stop();
});

test('GET /audit/stats: the figures of a release just run; 400 for until before since; 403 for another tenant', async () => {
  const since = new Date(Date.now() - 1000).toISOString();
  const app = uniqueName('stats');
  await deployApps(h.releases, [{ name: app, cells: ['rz00b'], replicasPerCell: 1 }]);

  const res = await api.call('GET', `/v1/tenants/acme/audit/stats?app=${app}&since=${encodeURIComponent(since)}`, tokens.viewer);
  expect(res.status).toBe(200);
  const figures = { releases: 1, finished: 1, inFlight: 0, succeeded: 1, failed: 0, rolledBack: 0, aborted: 0, failureRate: 0 };
  expect(res.body).toMatchObject({ tenant: 'acme', app, since, total: figures, apps: [{ app, ...figures }] });
  const lead = res.body.total.leadTimeSeconds as { mean: number; p50: number; p90: number };
  expect(lead.mean).toBeGreaterThan(0);
  expect(lead.p50).toBe(lead.mean);
  expect(res.body.total.meanPausedSeconds).toBe(0);
  // a range that ends before the release was requested holds none of it
  const before = await api.call('GET', `/v1/tenants/acme/audit/stats?app=${app}&until=${encodeURIComponent(since)}`, tokens.viewer);
  expect(before.body.total).toMatchObject({ releases: 0, leadTimeSeconds: null });

  const backwards = await api.call(
    'GET',
    `/v1/tenants/acme/audit/stats?since=2026-11-27T00:00:00Z&until=2026-11-26T00:00:00Z`,
    tokens.viewer,
  );
  expect(backwards.status).toBe(400);
  expect(backwards.body.issues).toEqual([
    expect.objectContaining({ field: expect.stringMatching(/until$/), message: 'must be after since' }),
  ]);
  expect((await api.call('GET', '/v1/tenants/acme/audit/stats?since=yesterday', tokens.viewer)).status).toBe(400);

  expect((await api.call('GET', '/v1/tenants/acme/audit/stats', tokens.other)).status).toBe(403);
});
