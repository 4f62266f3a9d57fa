import type { V1Pod } from '@kubernetes/client-node';
import { AuditStore } from '../../activities/audit-store.js';
import { TicketClient } from '../../api/ticket-client.js';
import type { TicketStatus } from '../../workflows/ticket-definitions.js';
import { uniqueName } from '../support/sandbox.js';
import { appPods, imageOf, restartsOf, startReleaseHarness, type ReleaseHarness } from '../support/release-harness.js';
import { deployApps, registerNext, type TestApp } from '../support/deployed-apps.js';
import { expectCompleteTicketTrail } from '../support/ticket-trail.js';

/**
 * The saga rollback of a ticket on the real sandbox: a → b with `onFailure: rollback-released`; a succeeds, b's
 * revision never becomes ready (a bad image), so b's release puts its pods back, and then the ticket rolls a back
 * through its own per-pod protocol: every pod of both back on its old image in place (same UID and IP).
 */
const ns = 'acme-prod';
let h: ReleaseHarness;
let tickets: TicketClient;
let audit: AuditStore;
beforeAll(async () => {
  h = await startReleaseHarness();
  tickets = new TicketClient(h.releases);
  audit = await AuditStore.open(h.sandbox.info.auditDatabaseUrl!);
});
afterAll(async () => {
  await audit?.close();
  await h?.stop();
});

const identity = (p: V1Pod) => ({ name: p.metadata?.name, uid: p.metadata?.uid, ip: p.status?.podIP, image: imageOf(p) });
const app = (s: TicketStatus, name: string) => s.apps.find((x) => x.app === name)!;

test('rollback-released: b never ready; b undone by its own release, then a rolled back in place; the ticket lists both in order', async () => {
  const p = uniqueName('saga');
  const a: TestApp = { name: `${p}-a`, cells: ['rz00a'], replicasPerCell: 2 };
  const b: TestApp = { name: `${p}-b`, cells: ['rz01a'], replicasPerCell: 2 };
  await deployApps(h.releases, [a, b]);
  const podsOf = async (x: TestApp) => appPods(h.sandbox, x === a ? 'kc1' : 'kc2', ns, x.name);
  const before = { a: await podsOf(a), b: await podsOf(b) };
  expect(before.a.every((pod) => pod.status?.podIP)).toBe(true);

  const bad = `registry.local/${b.name}:broken`;
  await h.sandbox.control.setImageBad(bad);
  await registerNext(h.releases, a);
  await registerNext(h.releases, b, bad);
  const strategy = { groups: 1, podTimeoutSeconds: 10 };
  const { id } = await tickets.create(
    {
      tenant: 'acme',
      title: 'saga',
      onFailure: 'rollback-released',
      entries: [
        { app: a.name, strategy },
        { app: b.name, dependsOn: [a.name], strategy: { ...strategy, onFailure: 'rollback' } },
      ],
    },
    'alice',
  );
  const done = await tickets.result('acme', id);

  expect(done.state).toBe('rolled-back');
  expect(app(done, a.name)).toMatchObject({ state: 'rolled-back', reason: 'back at revision 1', attempts: 1 });
  expect(app(done, b.name)).toMatchObject({ state: 'failed', releaseState: 'rolled-back' });
  expect(done.audit.at(-1)).toMatchObject({ action: 'finished', detail: `rolled back: ${b.name} (by its own release), ${a.name} → 1` });
  // the order: a succeeded, b failed (its release had rolled its pods back), then the saga, then a's rollback
  const actions = done.audit.map((e) => `${e.action} ${e.detail?.split(':')[0] ?? ''}`.trim());
  const at = (entry: string) => actions.indexOf(entry);
  expect(at(`app-succeeded ${a.name}`)).toBeGreaterThan(-1);
  expect(at(`app-started ${b.name}`)).toBeGreaterThan(at(`app-succeeded ${a.name}`));
  expect(at('rollback-started onFailure')).toBeGreaterThan(at(`app-failed ${b.name}`));
  expect(at(`app-rollback-started ${a.name}`)).toBeGreaterThan(at('rollback-started onFailure'));

  // b's pods went back before a's rollback started: b's release ended rolled back, its pods changed and put back
  const [bRelease, aRollback] = await Promise.all([
    h.releases.status(app(done, b.name).release!),
    h.releases.status(app(done, a.name).release!),
  ]);
  expect(bRelease).toMatchObject({ state: 'rolled-back', from: 1, to: 2 });
  expect(bRelease.audit.map((e) => e.action)).toEqual(expect.arrayContaining(['pod-failed', 'rollback-started']));
  expect(aRollback).toMatchObject({ state: 'succeeded', from: 2, to: 1 });
  expect(bRelease.finishedAt! <= aRollback.startedAt).toBe(true);

  // in place: the same pods (UID, IP) on their old images; a's changed twice (to :2 and back), b's at least once
  const after = { a: await podsOf(a), b: await podsOf(b) };
  expect(after.a.map(identity)).toEqual(before.a.map(identity));
  expect(after.b.map(identity)).toEqual(before.b.map(identity));
  expect(after.a.map(restartsOf)).toEqual(before.a.map((pod) => restartsOf(pod) + 2));
  expect(after.b.some((pod, i) => restartsOf(pod) > restartsOf(before.b[i]!))).toBe(true);

  // the releases the ticket started, found by its id (search attribute BaristaTicket): a's two, b's one
  const listed = await h.releases.listReleases('acme', { ticket: id });
  expect(listed.map((r) => r.app).sort()).toEqual([a.name, a.name, b.name].sort());
  expect(listed.every((r) => r.ticket === id)).toBe(true);

  // the durable record holds all of it, once
  const stored = await expectCompleteTicketTrail(audit, h.releases, done);
  expect(stored.filter((e) => e.app === a.name && e.action === 'requested')).toHaveLength(2);
}, 300_000);
