import type { ReleaseStatus } from '../../workflows/release-status.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { appPods, imageOf, startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';
import { startHttpApi } from '../support/http-api.js';
import { tenantSettingsId } from '../../workflows/tenant-settings.js';

/**
 * Change windows on the real sandbox, through the HTTP API: an admin sets a window; a release reaching a group
 * inside it waits, says until when, and goes on by itself when it ends; an admin (not a releaser) bypasses one with
 * a reason, recorded. Every window is removed at the end: the sandbox is shared with the other test files.
 */
const tokens = { admin: 'cw-admin', releaser: 'cw-releaser' };
let h: ReleaseHarness;
let api: Awaited<ReturnType<typeof startHttpApi>>;
const call: typeof api.call = (...args) => api.call(...args);
beforeAll(async () => {
  h = await startReleaseHarness();
  api = await startHttpApi(h, [
    { token: tokens.admin, name: 'ada', roles: ['admin'], tenants: ['acme'] },
    { token: tokens.releaser, name: 'rita', roles: ['releaser'], tenants: ['acme'] },
  ]);
});
afterAll(async () => {
  await call('PUT', '/v1/tenants/acme/change-windows', tokens.admin, { windows: [] }).catch(() => undefined);
  // the settings workflow runs on this harness's own task queue, which no worker serves after this file: later
  // files' releases would ask it in vain (and pause), so it goes with the harness
  await h?.client.workflow
    .getHandle(tenantSettingsId('acme'))
    .terminate('test over')
    .catch(() => undefined);
  await api?.close();
  await h?.stop();
});
const window = (name: string, seconds: number) => ({
  kind: 'once',
  name,
  reason: 'test freeze',
  start: new Date(Date.now() - 1_000).toISOString(),
  end: new Date(Date.now() + seconds * 1_000).toISOString(),
});
async function released(app: string): Promise<void> {
  await h.releases.upsertApp(appSpec(app, `registry.local/${app}:1`, { cells: ['rz00b'], replicasPerCell: 1 }), 'alice');
  expect(
    (await h.releases.result(await h.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } }))).state,
  ).toBe('succeeded');
  await h.releases.upsertApp(appSpec(app, `registry.local/${app}:2`, { cells: ['rz00b'], replicasPerCell: 1 }), 'alice');
}
const status = async (app: string): Promise<ReleaseStatus> =>
  (await call('GET', `/v1/tenants/acme/apps/${app}/release`, tokens.releaser)).body;

test('a release inside a window waits and goes on by itself when it ends; an admin bypasses one with a reason', async () => {
  const app = uniqueName('frozen');
  await released(app);
  expect((await call('PUT', '/v1/tenants/acme/change-windows', tokens.releaser, { windows: [window('x', 10)] })).status).toBe(403);
  const bad = await call('PUT', '/v1/tenants/acme/change-windows', tokens.admin, {
    windows: [{ kind: 'once', name: 'x', start: '2026-12-02T00:00:00Z', end: '2026-12-01T00:00:00Z' }],
  });
  expect(bad.status).toBe(400);
  expect(bad.body.issues.map((i: { field: string }) => i.field)).toEqual(['windows[0].end']);
  try {
    const set = await call('PUT', '/v1/tenants/acme/change-windows', tokens.admin, { windows: [window('deploy-freeze', 12)] });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ tenant: 'acme', updatedBy: 'ada', changeWindows: [{ name: 'deploy-freeze' }] });
    expect((await call('GET', '/v1/tenants/acme/change-windows', tokens.releaser)).body.changeWindows).toHaveLength(1);

    const started = await call('POST', `/v1/tenants/acme/apps/${app}/release`, tokens.releaser, { strategy: { groups: 1 } });
    expect(started.status).toBe(201);
    const waiting = await eventually('waiting for the window', async () => {
      const s = await status(app);
      return s.state === 'waiting-window' ? s : undefined;
    });
    expect(waiting.window).toMatchObject({ name: 'deploy-freeze', reason: 'test freeze' });
    expect((await appPods(h.sandbox, 'kc1', 'acme-prod', app)).map(imageOf)).toEqual([`registry.local/${app}:1`]);
    const done = await eventually(
      'the release after the window',
      async () => {
        const s = await status(app);
        return s.state === 'succeeded' ? s : undefined;
      },
      60_000,
    );
    expect(done.audit.map((e) => e.action)).toEqual(expect.arrayContaining(['window-wait', 'finished']));
    expect((await appPods(h.sandbox, 'kc1', 'acme-prod', app)).map(imageOf)).toEqual([`registry.local/${app}:2`]);

    // a long window: bypassed by an admin, not by a releaser
    const other = uniqueName('bypass');
    await released(other);
    await call('PUT', '/v1/tenants/acme/change-windows', tokens.admin, { windows: [window('quarter-end', 3600)] });
    await call('POST', `/v1/tenants/acme/apps/${other}/release`, tokens.releaser, { strategy: { groups: 1 } });
    await eventually('waiting for the long window', async () => ((await status(other)).state === 'waiting-window' ? true : undefined));
    expect((await call('POST', `/v1/tenants/acme/apps/${other}/release/bypass-window`, tokens.releaser, { reason: 'hotfix' })).status).toBe(
      403,
    );
    expect((await call('POST', `/v1/tenants/acme/apps/${other}/release/bypass-window`, tokens.admin, {})).status).toBe(400);
    const bypass = await call('POST', `/v1/tenants/acme/apps/${other}/release/bypass-window`, tokens.admin, { reason: 'hotfix INC-7' });
    expect(bypass.status).toBe(200);
    expect(bypass.body.recorded).toMatchObject({ by: 'ada', action: 'window-bypassed', detail: "'quarter-end': hotfix INC-7" });
    const passed = await eventually('the bypassed release', async () => {
      const s = await status(other);
      return s.state === 'succeeded' ? s : undefined;
    });
    expect(passed.window).toBeUndefined();
  } finally {
    await call('PUT', '/v1/tenants/acme/change-windows', tokens.admin, { windows: [] });
  }
});
