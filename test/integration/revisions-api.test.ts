import { AuditStore } from '../../activities/audit-store.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { startHttpApi } from '../support/http-api.js';

/**
 * Revision history and marks through the real HTTP API, worker, audit store and sandbox: who made each revision and
 * when, its images, the cells running it; a revision marked bad is refused as a plain release's target and allowed
 * (and recorded) as an explicit one; marking needs the role that starts releases; mark-good lifts it.
 */
const tokens = { releaser: 'revs-releaser', viewer: 'revs-viewer' };
let h: ReleaseHarness;
let audit: AuditStore;
let api: Awaited<ReturnType<typeof startHttpApi>>;
beforeAll(async () => {
  h = await startReleaseHarness();
  audit = await AuditStore.open(h.sandbox.info.auditDatabaseUrl!);
  api = await startHttpApi(
    h,
    [
      { token: tokens.releaser, name: 'rita', roles: ['releaser'], tenants: ['acme'] },
      { token: tokens.viewer, name: 'vic', roles: ['viewer'], tenants: ['acme'] },
    ],
    audit,
  );
});
afterAll(async () => {
  await api?.close();
  await audit?.close();
  await h?.stop();
});

const body = (image: string) => ({
  workspace: 'prod',
  template: { containers: [{ name: 'web', image }] },
  replicasPerCell: 1,
  placement: { cells: ['rz00a', 'rz01a'] },
});

test('history shows who, when, images and cells; a bad latest is refused to a plain release, allowed when named; marks are audited', async () => {
  const app = uniqueName('revs');
  const url = `/v1/tenants/acme/apps/${app}`;
  const since = new Date().toISOString();
  const put = async (image: string) => {
    const res = await api.call('PUT', url, tokens.releaser, body(image));
    expect(res.status).toBe(200);
    return res.body as { revision: number };
  };
  const release = async (payload: object) => api.call('POST', `${url}/release`, tokens.releaser, payload);
  const finished = async (res: { status: number; body: { workflowId: string; runId: string } }) => {
    expect(res.status).toBe(201);
    return h.releases.result(res.body);
  };

  expect(await put('registry.local/revs:1')).toEqual({ revision: 1, created: true });
  expect((await finished(await release({ strategy: { groups: 1 } }))).state).toBe('succeeded');
  expect((await put('registry.local/revs:2')).revision).toBe(2);
  expect((await put('registry.local/revs:3')).revision).toBe(3);

  const history = await api.call('GET', `${url}/revisions`, tokens.viewer);
  expect(history.status).toBe(200);
  expect(history.body).toMatchObject({ tenant: 'acme', app, latest: 3, olderRevisions: {} });
  expect(history.body.revisions).toEqual([
    { revision: 3, latest: true, createdAt: expect.any(String), createdBy: 'rita', images: { web: 'registry.local/revs:3' }, cells: [] },
    { revision: 2, latest: false, createdAt: expect.any(String), createdBy: 'rita', images: { web: 'registry.local/revs:2' }, cells: [] },
    {
      revision: 1,
      latest: false,
      createdAt: expect.any(String),
      createdBy: 'rita',
      images: { web: 'registry.local/revs:1' },
      cells: ['rz00a', 'rz01a'],
    },
  ]);
  for (const r of history.body.revisions as { createdAt: string }[]) expect(r.createdAt >= since).toBe(true);

  // a viewer may not mark; a reason is required; a revision not kept is a 404 naming it
  const denied = await api.call('POST', `${url}/revisions/3/mark-bad`, tokens.viewer, { reason: 'crash loop' });
  expect(denied.status).toBe(403);
  expect(denied.body.error).toMatch(/vic \(roles viewer\) may not revision:mark; needs one of releaser, admin/);
  const noReason = await api.call('POST', `${url}/revisions/3/mark-bad`, tokens.releaser, {});
  expect(noReason.status).toBe(400);
  expect(noReason.body.issues).toEqual([{ field: 'reason', message: expect.stringMatching(/required/) }]);
  expect((await api.call('POST', `${url}/revisions/3/mark-bad`, tokens.releaser)).body.issues).toEqual([
    { field: 'reason', message: expect.stringMatching(/required/) },
  ]);
  const unknown = await api.call('POST', `${url}/revisions/7/mark-bad`, tokens.releaser, { reason: 'x' });
  expect(unknown.status).toBe(404);
  expect(unknown.body.error).toBe(`revision 7 of acme/${app} does not exist; kept revisions: 1, 2, 3`);

  const marked = await api.call('POST', `${url}/revisions/3/mark-bad`, tokens.releaser, { reason: 'crash loop in canary', by: 'mallory' });
  expect(marked.status).toBe(200);
  expect(marked.body).toEqual({
    tenant: 'acme',
    app,
    revision: 3,
    mark: { verdict: 'bad', reason: 'crash loop in canary', by: 'rita', at: expect.any(String) },
  });
  const shown = (await api.call('GET', `${url}/revisions`, tokens.viewer)).body.revisions[0];
  expect(shown).toMatchObject({ revision: 3, mark: marked.body.mark });

  // a release without a revision would take the latest, 3: refused, naming it and what to do
  const plain = await release({ strategy: { groups: 1 } });
  expect(plain.status).toBe(400);
  expect(plain.body.issues).toEqual([
    {
      field: 'revision',
      message: expect.stringMatching(/^revision 3, the latest of acme\/revs-.*, is marked bad \(by rita at .*: crash loop in canary\)/),
    },
  ]);
  expect(plain.body.error).toMatch(/give an explicit revision \(the newest not marked bad is 2\), or mark 3 good/);

  // named explicitly it goes (the operator chose it), and its trail says so
  const explicit = await finished(await release({ revision: 3, strategy: { groups: 1 } }));
  expect(explicit.state).toBe('succeeded');
  expect(explicit.audit.find((a) => a.action === 'target-marked-bad')).toMatchObject({
    by: 'rita',
    detail: expect.stringMatching(/^released although revision 3 marked bad by rita at .*: crash loop in canary$/),
  });
  const after = (await api.call('GET', `${url}/revisions`, tokens.viewer)).body.revisions as { revision: number; cells: string[] }[];
  expect(after.map((r) => [r.revision, r.cells])).toEqual([
    [3, ['rz00a', 'rz01a']],
    [2, []],
    [1, []],
  ]);

  // mark-good lifts it: a plain release takes the latest again
  const good = await api.call('POST', `${url}/revisions/3/mark-good`, tokens.releaser, { reason: 'canary fixed by config' });
  expect(good.status).toBe(200);
  expect(good.body).toMatchObject({ mark: { verdict: 'good', by: 'rita' }, previous: marked.body.mark });
  const plainAgain = await finished(await release({ strategy: { groups: 1 } }));
  expect(plainAgain).toMatchObject({ state: 'succeeded', to: 3 });
  expect(plainAgain.audit.map((a) => a.action)).not.toContain('target-marked-bad');

  // both marks and the release to a bad revision are in the durable audit record
  const stored = await eventually('the marks in the audit store', async () => {
    const { events } = await audit.query({ tenant: 'acme', app });
    const wanted = events.filter((e) => ['revision-marked-bad', 'revision-marked-good', 'target-marked-bad'].includes(e.action));
    return wanted.length === 3 ? wanted : undefined;
  });
  expect(stored.map((e) => [e.kind, e.actor, e.action])).toEqual([
    ['app', 'rita', 'revision-marked-bad'],
    ['release', 'rita', 'target-marked-bad'],
    ['app', 'rita', 'revision-marked-good'],
  ]);
});
