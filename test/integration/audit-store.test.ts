import pg from 'pg';
import { AuditStore } from '../../activities/audit-store.js';
import type { AuditEvent } from '../../domain/audit-chain.js';
import { connectSandbox, uniqueName, type TestSandbox } from '../support/sandbox.js';

/**
 * The audit store on the sandbox's real PostgreSQL: each entry stored once however often it is appended, one hash
 * chain per tenant that concurrent writers never fork, and an edited or deleted row found by verify.
 */
let sandbox: TestSandbox;
let store: AuditStore;
let db: pg.Client;
beforeAll(async () => {
  sandbox = await connectSandbox();
  const url = sandbox.info.auditDatabaseUrl;
  if (!url) throw new Error('the sandbox has no audit database (sandbox.json: auditDatabaseUrl)');
  store = await AuditStore.open(url);
  db = new pg.Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await store?.close();
});

const events = (tenant: string, run: string, n: number, from = 1): AuditEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `release/${tenant}/pay/${run}/${from + i}`,
    tenant,
    at: new Date(Date.UTC(2026, 10, 26, 12, 0, from + i)).toISOString(),
    kind: 'release' as const,
    workflowId: `release/${tenant}/pay`,
    runId: run,
    app: 'pay',
    actor: i % 2 ? 'alice' : 'barista',
    action: i % 2 ? 'approved' : 'group-started',
    detail: `step ${from + i}`,
  }));

test('entries appended again (a retried activity) are stored once, in order, and the chain holds', async () => {
  const tenant = uniqueName('audit');
  const batch = events(tenant, 'r1', 5);
  expect(await store.append(batch)).toEqual({ inserted: 5 });
  expect(await store.append(batch)).toEqual({ inserted: 0 });
  expect(await store.append([...batch.slice(3), ...events(tenant, 'r1', 2, 6)])).toEqual({ inserted: 2 });
  const { events: stored } = await store.query({ tenant });
  expect(stored.map((e) => e.detail)).toEqual(['step 1', 'step 2', 'step 3', 'step 4', 'step 5', 'step 6', 'step 7']);
  expect(stored[1]).toMatchObject({ actor: 'alice', action: 'approved', app: 'pay', kind: 'release', at: '2026-11-26T12:00:02.000Z' });
  expect(await store.verify(tenant)).toEqual({ tenant, ok: true, checked: 7 });
  // filters and pages
  expect((await store.query({ tenant, actor: 'alice' })).events.map((e) => e.detail)).toEqual(['step 2', 'step 4', 'step 7']);
  const first = await store.query({ tenant, limit: 3 });
  expect(first.events).toHaveLength(3);
  const second = await store.query({ tenant, limit: 3, after: first.next! });
  expect(second.events.map((e) => e.detail)).toEqual(['step 4', 'step 5', 'step 6']);
  expect((await store.query({ tenant, since: '2026-11-26T12:00:06Z' })).events.map((e) => e.detail)).toEqual(['step 6', 'step 7']);
});

test('concurrent writers of one tenant never fork its chain', async () => {
  const tenant = uniqueName('audit');
  await Promise.all(Array.from({ length: 8 }, (_, w) => store.append(events(tenant, `run${w}`, 10))));
  expect(await store.verify(tenant)).toEqual({ tenant, ok: true, checked: 80 });
});

test('a row edited or deleted in PostgreSQL is named by verify', async () => {
  const edited = uniqueName('audit');
  await store.append(events(edited, 'r1', 6));
  const victim = (await store.query({ tenant: edited })).events[3]!;
  await db.query('UPDATE audit_events SET detail = $1 WHERE event_id = $2', ['nothing to see', victim.id]);
  expect(await store.verify(edited)).toEqual({
    tenant: edited,
    ok: false,
    checked: 3,
    broken: { seq: victim.seq, id: victim.id, reason: 'its content was edited after it was written' },
  });

  const deleted = uniqueName('audit');
  await store.append(events(deleted, 'r1', 6));
  const all = (await store.query({ tenant: deleted })).events;
  await db.query('DELETE FROM audit_events WHERE event_id = $1', [all[2]!.id]);
  expect(await store.verify(deleted)).toEqual({
    tenant: deleted,
    ok: false,
    checked: 2,
    broken: { seq: all[3]!.seq, id: all[3]!.id, reason: 'the entry before it was deleted, edited or inserted' },
  });
  // other tenants' chains are their own
  expect((await store.verify(uniqueName('audit'))).ok).toBe(true);
});

test('stats: the releases requested in the range, each with its whole run, per app and in total', async () => {
  const tenant = uniqueName('audit');
  const at = (minute: number, second = 0) => new Date(Date.UTC(2026, 10, 26, 12, minute, second)).toISOString();
  let n = 0;
  const entry = (app: string, run: string, minute: number, action: string, detail?: string): AuditEvent => ({
    id: `release/${tenant}/${app}/${run}/${++n}`,
    tenant,
    at: at(minute),
    kind: 'release',
    workflowId: `release/${tenant}/${app}`,
    runId: run,
    app,
    actor: action === 'paused' || action === 'resumed' ? 'alice' : 'barista',
    action,
    ...(detail ? { detail } : {}),
  });
  await store.append([
    // before the range: not counted
    entry('pay', 'r0', 0, 'requested', 'revision 1 → 2'),
    entry('pay', 'r0', 5, 'finished', 'failed: too early'),
    // in the range: paused 4 minutes, finished after `until` (still counted, with its whole lead time)
    entry('pay', 'r1', 10, 'requested', 'revision 2 → 3'),
    entry('pay', 'r1', 11, 'group-started', 'group 0'),
    entry('pay', 'r1', 12, 'paused', 'look'),
    entry('shop', 's1', 13, 'requested', 'revision 4 → 5'),
    entry('pay', 'r1', 16, 'resumed'),
    entry('shop', 's1', 14, 'rollback-started', 'to revision 4'),
    entry('shop', 's1', 15, 'finished', 'rolled back 2 pods to revision 4'),
    entry('pay', 'r1', 40, 'finished', 'all 4 pods at revision 3'),
    // in flight
    entry('pay', 'r2', 20, 'requested', 'revision 3 → 4'),
  ]);
  // a ticket's entries are not releases
  await store.append([{ ...entry('pay', 't1', 21, 'requested', 'payday: pay'), kind: 'ticket', workflowId: `ticket/${tenant}/1` }]);

  const range = { since: at(10), until: at(30) };
  const stats = await store.stats({ tenant, ...range });
  expect(stats).toMatchObject({ tenant, ...range });
  expect(stats.total).toEqual({
    releases: 3,
    finished: 2,
    inFlight: 1,
    succeeded: 1,
    failed: 0,
    rolledBack: 1,
    aborted: 0,
    failureRate: 0,
    rollbackRate: 0.5,
    abortRate: 0,
    leadTimeSeconds: { mean: (30 * 60 + 2 * 60) / 2, p50: 2 * 60, p90: 30 * 60 },
    meanPausedSeconds: (4 * 60 + 0) / 2,
  });
  expect(stats.apps.map((a) => [a.app, a.releases, a.inFlight, a.leadTimeSeconds?.mean, a.meanPausedSeconds, a.rollbackRate])).toEqual([
    ['pay', 2, 1, 30 * 60, 4 * 60, 0],
    ['shop', 1, 0, 2 * 60, 0, 1],
  ]);
  // one app; no range: the whole record
  expect((await store.stats({ tenant, app: 'shop', ...range })).apps.map((a) => a.app)).toEqual(['shop']);
  expect((await store.stats({ tenant })).total).toMatchObject({ releases: 4, finished: 3, failed: 1 });
  expect((await store.stats({ tenant: uniqueName('audit') })).total).toMatchObject({ releases: 0, leadTimeSeconds: null });
});
