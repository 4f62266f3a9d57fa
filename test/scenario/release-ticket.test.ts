import { AuditStore, type StoredAuditEvent } from '../../activities/audit-store.js';
import type { TicketStatus } from '../../workflows/ticket-definitions.js';
import { eventually, uniqueName } from '../support/sandbox.js';
import { appPods, imageOf, restartsOf, startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { appSpec } from '../support/app-spec.js';
import { startHttpApi } from '../support/http-api.js';

/**
 * Release tickets on the real sandbox, through the HTTP API: apps a → b → c and d, each one cell of 2 pods. The
 * order holds; b's bad image fails b, blocks c, leaves d alone; b retried at a fixed revision runs b and c, and a
 * and d are not touched again (same pods, same restarts).
 */
const ns = 'acme-prod';
const tokens = { releaser: 'ticket-releaser', approver: 'ticket-approver', admin: 'ticket-admin', other: 'ticket-other' };
let h: ReleaseHarness;
let api: Awaited<ReturnType<typeof startHttpApi>>;
let audit: AuditStore;
const call: typeof api.call = (...args) => api.call(...args);
beforeAll(async () => {
  h = await startReleaseHarness();
  audit = await AuditStore.open(h.sandbox.info.auditDatabaseUrl!);
  api = await startHttpApi(
    h,
    [
      { token: tokens.releaser, name: 'rita', roles: ['releaser'], tenants: ['acme'] },
      { token: tokens.approver, name: 'april', roles: ['approver'], tenants: ['acme'] },
      { token: tokens.admin, name: 'ada', roles: ['admin'], tenants: ['acme'] },
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
const status = async (id: string): Promise<TicketStatus> => (await call('GET', `/v1/tenants/acme/tickets/${id}`, tokens.releaser)).body;
const until = (id: string, what: string, predicate: (s: TicketStatus) => boolean) =>
  eventually(
    what,
    async () => {
      const s = await status(id);
      return predicate(s) ? s : undefined;
    },
    150_000,
  );
const app = (s: TicketStatus, name: string) => s.apps.find((a) => a.app === name)!;

/** Apps released once at :1 (cells rz00a and rz01a alternate), then registered at :2. */
async function deployed(names: string[]): Promise<void> {
  await Promise.all(
    names.map(async (name, i) => {
      const cells = [i % 2 ? 'rz01a' : 'rz00a'];
      await h.releases.upsertApp(appSpec(name, `registry.local/${name}:1`, { cells, replicasPerCell: 2 }), 'alice');
      const ref = await h.releases.startRelease({ app: name, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
      expect((await h.releases.result(ref)).state).toBe('succeeded');
    }),
  );
}
const identity = async (name: string, i: number) =>
  (await appPods(h.sandbox, i % 2 ? 'kc2' : 'kc1', ns, name)).map(
    (p) => `${p.metadata?.name}:${p.metadata?.uid}:${imageOf(p)}:${restartsOf(p)}`,
  );

test('a → b → c and d: order respected; b fails, c blocked, d done; b retried at a good revision runs b and c only', async () => {
  const p = uniqueName('tk');
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => `${p}-${x}`) as [string, string, string, string];
  await deployed([a, b, c, d]);
  const bad = `registry.local/${b}:broken`;
  await h.sandbox.control.setImageBad(bad);
  for (const [i, name] of [a, b, c, d].entries()) {
    const cells = [i % 2 ? 'rz01a' : 'rz00a'];
    await h.releases.upsertApp(appSpec(name, name === b ? bad : `registry.local/${name}:2`, { cells, replicasPerCell: 2 }), 'alice');
  }
  const strategy = { groups: 1, podTimeoutSeconds: 10, onFailure: 'rollback' };
  const created = await call('POST', '/v1/tenants/acme/tickets', tokens.releaser, {
    title: 'payments chain',
    reason: 'CHG-1234',
    entries: [
      { app: a, strategy },
      { app: b, dependsOn: [a], strategy },
      { app: c, dependsOn: [b], strategy },
      { app: d, strategy },
    ],
  });
  expect(created.status).toBe(201);
  const id: string = created.body.id;

  const blocked = await until(id, 'the ticket blocked on b', (s) => s.state === 'blocked');
  expect(app(blocked, a)).toMatchObject({ state: 'succeeded', revision: 2 });
  expect(app(blocked, d)).toMatchObject({ state: 'succeeded', revision: 2 });
  expect(app(blocked, b)).toMatchObject({ state: 'failed', releaseState: 'rolled-back' });
  expect(app(blocked, c)).toMatchObject({ state: 'blocked', reason: `${b} failed` });
  expect(app(blocked, b).startedAt! >= app(blocked, a).finishedAt!).toBe(true);
  expect((await appPods(h.sandbox, 'kc1', ns, c)).map(imageOf)).toEqual(Array(2).fill(`registry.local/${c}:1`)); // c never started
  const before = { a: await identity(a, 0), d: await identity(d, 3) };

  // a viewer of another tenant cannot see or steer it; a releaser cannot skip (admin only)
  expect((await call('GET', `/v1/tenants/acme/tickets/${id}`, tokens.other)).status).toBe(403);
  expect((await call('POST', `/v1/tenants/acme/tickets/${id}/skip`, tokens.releaser, { app: b, reason: 'x' })).status).toBe(403);
  expect((await call('POST', `/v1/tenants/acme/tickets/${id}/retry`, tokens.releaser, { app: d })).status).toBe(409);
  expect((await call('POST', `/v1/tenants/acme/tickets/${id}/retry`, tokens.releaser, { app: 'nope' })).status).toBe(409);
  expect((await call('POST', `/v1/tenants/acme/tickets/${id}/retry`, tokens.releaser, {})).status).toBe(400);

  // fixed: revision 3 of b; retried, b and then c run
  const fixed = await h.releases.upsertApp(appSpec(b, `registry.local/${b}:3`, { cells: ['rz01a'], replicasPerCell: 2 }), 'alice');
  const retried = await call('POST', `/v1/tenants/acme/tickets/${id}/retry`, tokens.releaser, {
    app: b,
    revision: fixed.revision,
    reason: 'fixed image',
  });
  expect(retried.status).toBe(200);
  const done = await until(id, 'the ticket succeeded', (s) => s.state === 'succeeded');
  expect(app(done, b)).toMatchObject({ state: 'succeeded', attempts: 2, revision: fixed.revision });
  expect(app(done, c)).toMatchObject({ state: 'succeeded', attempts: 1 });
  expect(app(done, c).startedAt! >= app(done, b).finishedAt!).toBe(true);
  expect((await appPods(h.sandbox, 'kc2', ns, b)).map(imageOf)).toEqual(Array(2).fill(`registry.local/${b}:3`));
  expect((await appPods(h.sandbox, 'kc1', ns, c)).map(imageOf)).toEqual(Array(2).fill(`registry.local/${c}:2`));
  // a and d: the same pods, images and restarts as before the retry
  expect({ a: await identity(a, 0), d: await identity(d, 3) }).toEqual(before);
  expect(done.audit.map((e) => e.action)).toEqual(expect.arrayContaining(['requested', 'app-failed', 'retry', 'finished']));

  const listed = await eventually('the ticket listed', async () => {
    const { body } = await call('GET', '/v1/tenants/acme/tickets', tokens.releaser);
    return (body.tickets as { id: string; state: string }[]).find((t) => t.id === id && t.state === 'succeeded');
  });
  expect(listed).toMatchObject({ id, state: 'succeeded' });
  // the releases it started, found by its id (search attribute BaristaTicket): b's two, one of each other app
  const started = await eventually('the releases listed by ticket', async () => {
    const { body } = await call('GET', `/v1/tenants/acme/releases?ticket=${id}`, tokens.releaser);
    const releases = body.releases as { app: string; ticket?: string }[];
    return releases.length >= 5 ? releases : undefined;
  });
  expect(started.map((r) => r.app).sort()).toEqual([a, b, b, c, d].sort());
  expect(started.every((r) => r.ticket === id)).toBe(true);
  expect((await call('GET', `/v1/tenants/acme/releases?ticket=${id}`, tokens.other)).status).toBe(403);

  // the durable record: the ticket's trail and its releases', in PostgreSQL, each entry once
  const trail = async (): Promise<StoredAuditEvent[]> =>
    (await call('GET', `/v1/tenants/acme/audit?ticket=${id}&limit=1000`, tokens.releaser)).body.events;
  const stored = await eventually('the ticket finished in the audit record', async () => {
    const events = await trail();
    return events.some((e) => e.kind === 'ticket' && e.action === 'finished') ? events : undefined;
  });
  expect(stored.filter((e) => e.kind === 'ticket').map((e) => [e.actor, e.action, e.detail])).toEqual(
    done.audit.map((e) => [e.by, e.action, e.detail]),
  );
  expect(new Set(stored.filter((e) => e.kind === 'release').map((e) => e.app))).toEqual(new Set([a, b, c, d]));
  expect(stored.filter((e) => e.app === b && e.action === 'requested')).toHaveLength(2); // b's two releases
  expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
  // it outlives Temporal: the ticket's workflows deleted, the trail reads the same, and its chain holds
  const namespace = h.sandbox.info.temporalNamespace;
  const runs = [{ workflowId: `ticket/acme/${id}` }, ...done.apps.map((x) => x.release!)];
  for (const run of runs) await h.client.workflowService.deleteWorkflowExecution({ namespace, workflowExecution: run });
  // Temporal deletes asynchronously (slower while the machine is busy)
  await eventually(
    'the ticket gone from Temporal',
    async () => ((await call('GET', `/v1/tenants/acme/tickets/${id}`, tokens.releaser)).status === 404 ? true : undefined),
    150_000,
  );
  expect(await trail()).toEqual(stored);
  expect((await call('GET', '/v1/tenants/acme/audit/verify', tokens.releaser)).body).toMatchObject({ ok: true });
}, 360_000);

test('bad tickets are a 400 naming the field; nothing starts', async () => {
  const p = uniqueName('tkbad');
  const bad = async (body: unknown) => {
    const res = await call('POST', '/v1/tenants/acme/tickets', tokens.releaser, body);
    expect(res.status).toBe(400);
    return (res.body.issues as { field: string }[]).map((i) => i.field);
  };
  expect(await bad({ title: 't', entries: [{ app: `${p}-x` }] })).toEqual(['entries[0].app']);
  expect(
    await bad({
      title: 't',
      entries: [
        { app: 'a', dependsOn: ['b'] },
        { app: 'b', dependsOn: ['a'] },
      ],
    }),
  ).toEqual(['entries[0].dependsOn']);
  expect(await bad({ title: '', entries: [] })).toEqual(expect.arrayContaining(['title', 'entries']));
  expect(await bad({ entries: [{ app: 'a' }], title: 't', tenant: 'globex' })).toEqual(['(body)']);
  expect((await call('POST', '/v1/tenants/globex/tickets', tokens.releaser, { title: 't', entries: [{ app: 'a' }] })).status).toBe(403);
});
