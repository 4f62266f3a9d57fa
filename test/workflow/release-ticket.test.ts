import { TicketClient } from '../../api/ticket-client.js';
import { DomainError } from '../../domain/index.js';
import type { TicketStatus } from '../../workflows/ticket-definitions.js';
import { startWorkflowTestEnv, until as untilRelease, type WorkflowTestEnv } from './workflow-env.js';

/**
 * The ReleaseTicket workflow on Temporal's time-skipping test server: real App release children, fake pod steps.
 * Order by dependency, failures blocking dependents only, retry without repeating what succeeded, saga rollback.
 */
let w: WorkflowTestEnv;
let tickets: TicketClient;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
  tickets = new TicketClient(w.releases);
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

let n = 0;
/** Four fresh Apps a → b → c and d, each one cell of 2 pods, revision 1 released and revision 2 registered. */
async function fourApps(): Promise<{ a: string; b: string; c: string; d: string }> {
  const p = `t${++n}`;
  const apps = { a: `${p}-a`, b: `${p}-b`, c: `${p}-c`, d: `${p}-d` };
  for (const app of Object.values(apps)) await w.registerApp(app, { revisions: 2 });
  return apps;
}
const chain = (x: { a: string; b: string; c: string; d: string }, b: Record<string, unknown> = {}) => [
  { app: x.a, strategy: { groups: 1 } },
  { app: x.b, dependsOn: [x.a], strategy: { groups: 1 }, ...b },
  { app: x.c, dependsOn: [x.b], strategy: { groups: 1 } },
  { app: x.d, strategy: { groups: 1 } },
];

async function until(id: string, what: string, predicate: (s: TicketStatus) => boolean, timeoutMs = 20_000): Promise<TicketStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: TicketStatus | undefined;
  while (Date.now() < deadline) {
    last = await tickets.status('acme', id);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last?.apps.map((a) => [a.app, a.state, a.reason]))}`);
}
const stateOf = (s: TicketStatus, app: string) => s.apps.find((a) => a.app === app)!;
const releasesOf = (app: string) => w.released.filter((r) => r.pod.startsWith(`${app}-`));

test('apps run in dependency order, independent ones in parallel; the ticket succeeds once all did', async () => {
  const x = await fourApps();
  w.podStepMs.value = 100;
  try {
    const { id } = await tickets.create({ tenant: 'acme', title: 'chain', entries: chain(x) }, 'alice');
    const done = await tickets.result('acme', id);
    expect(done.state).toBe('succeeded');
    expect(done.levels).toEqual([[x.a, x.d], [x.b], [x.c]]);
    const [a, b, c, d] = [x.a, x.b, x.c, x.d].map((app) => stateOf(done, app));
    for (const app of [a, b, c, d])
      expect(app).toMatchObject({ state: 'succeeded', releaseState: 'succeeded', revision: 2, from: 1, attempts: 1 });
    expect(b!.startedAt! >= a!.finishedAt!).toBe(true);
    expect(c!.startedAt! >= b!.finishedAt!).toBe(true);
    expect(d!.startedAt! < a!.finishedAt!).toBe(true); // d did not wait for a
    for (const app of Object.values(x)) expect(releasesOf(app).map((r) => r.revision)).toEqual([2, 2]);
    // every entry of the ticket's trail and of its releases' went to the audit store, each once, naming the ticket
    const events = [...w.audited.values()].filter((e) => e.ticket === id);
    expect(events.filter((e) => e.kind === 'ticket').map((e) => [e.actor, e.action, e.detail])).toEqual(
      done.audit.map((e) => [e.by, e.action, e.detail]),
    );
    expect(new Set(events.filter((e) => e.kind === 'release').map((e) => e.app))).toEqual(new Set(Object.values(x)));
    const aRelease = await w.releases.status(stateOf(done, x.a).release!);
    expect(events.filter((e) => e.app === x.a).map((e) => e.action)).toEqual(aRelease.audit.map((e) => e.action));
  } finally {
    w.podStepMs.value = 0;
  }
});

test('a failed app blocks its dependents only; retried, it and its dependents run, and what succeeded is not touched again', async () => {
  const x = await fourApps();
  const bad = `${x.b}-rz00a-1`;
  w.failing.set(bad, { pod: bad, step: 'await-ready', reason: 'image never became ready', revision: 2 });
  try {
    const { id } = await tickets.create(
      { tenant: 'acme', title: 'b fails', entries: chain(x, { strategy: { groups: 1, onFailure: 'rollback' } }) },
      'alice',
    );
    const blocked = await until(id, 'the ticket blocked on b', (s) => s.state === 'blocked');
    expect(stateOf(blocked, x.a).state).toBe('succeeded');
    expect(stateOf(blocked, x.d).state).toBe('succeeded');
    expect(stateOf(blocked, x.b)).toMatchObject({ state: 'failed', releaseState: 'rolled-back' });
    expect(stateOf(blocked, x.c)).toMatchObject({ state: 'blocked', reason: `${x.b} failed` });
    await expect(tickets.act('acme', id, 'retry', { by: 'bob', app: x.a })).rejects.toThrow(/only a failed or aborted app is retried/);

    w.failing.delete(bad);
    const before = { a: releasesOf(x.a).length, d: releasesOf(x.d).length };
    await tickets.act('acme', id, 'retry', { by: 'bob', app: x.b, reason: 'fixed the readiness probe' });
    const done = await tickets.result('acme', id);
    expect(done.state).toBe('succeeded');
    expect(stateOf(done, x.b)).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(stateOf(done, x.c)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect({ a: releasesOf(x.a).length, d: releasesOf(x.d).length }).toEqual(before);
    expect(done.audit.find((e) => e.action === 'retry')).toMatchObject({ by: 'bob', detail: `${x.b}: fixed the readiness probe` });
  } finally {
    w.failing.delete(bad);
  }
});

test('onFailure rollback-released: a failure rolls back what the ticket changed, last finished first', async () => {
  const x = await fourApps();
  const bad = `${x.b}-rz00a-0`;
  w.failing.set(bad, { pod: bad, step: 'await-ready', reason: 'crash loop', revision: 2 });
  try {
    const entries = [
      { app: x.a, strategy: { groups: 1 } },
      { app: x.d, dependsOn: [x.a], strategy: { groups: 1 } },
      { app: x.b, dependsOn: [x.d], strategy: { groups: 1, onFailure: 'rollback' } },
    ];
    const { id } = await tickets.create({ tenant: 'acme', title: 'saga', entries, onFailure: 'rollback-released' }, 'alice');
    const done = await tickets.result('acme', id);
    expect(done.state).toBe('rolled-back');
    expect(stateOf(done, x.a)).toMatchObject({ state: 'rolled-back', reason: 'back at revision 1' });
    expect(stateOf(done, x.d)).toMatchObject({ state: 'rolled-back', reason: 'back at revision 1' });
    expect(stateOf(done, x.b).state).toBe('failed');
    // d finished after a, so it went back first; each app's pods ended at revision 1
    const rollbacks = done.audit.filter((e) => e.action === 'app-rollback-started').map((e) => e.detail?.split(':')[0]);
    expect(rollbacks).toEqual([x.d, x.a]);
    for (const app of [x.a, x.d]) expect(releasesOf(app).map((r) => r.revision)).toEqual([2, 2, 1, 1]);
    expect(done.audit.at(-1)?.detail).toBe(`rolled back: ${x.b} (by its own release), ${x.d} → 1, ${x.a} → 1`);
  } finally {
    w.failing.delete(bad);
  }
});

test('approval before start, per-app approval, abort: nothing starts unapproved; an abort stops what is left', async () => {
  const x = await fourApps();
  const { id } = await tickets.create({ tenant: 'acme', title: 'gated', entries: chain(x), approval: 'before-start' }, 'alice');
  const waiting = await until(id, 'waiting for approval', (s) => s.state === 'awaiting-approval');
  expect(waiting.apps.every((a) => a.state === 'waiting')).toBe(true);
  await expect(tickets.act('acme', id, 'approve', { by: 'carol', app: x.a })).rejects.toThrow(/not waiting for approval/);
  await tickets.act('acme', id, 'approve', { by: 'carol' });
  await tickets.result('acme', id).then((s) => expect(s.state).toBe('succeeded'));

  const y = await fourApps();
  const perApp = await tickets.create({ tenant: 'acme', title: 'per app', entries: chain(y), approval: 'per-app' }, 'alice');
  await until(
    perApp.id,
    'a and d awaiting approval',
    (s) => stateOf(s, y.a).state === 'awaiting-approval' && stateOf(s, y.d).state === 'awaiting-approval',
  );
  await tickets.act('acme', perApp.id, 'approve', { by: 'carol', app: y.a });
  await until(perApp.id, 'b awaiting approval after a', (s) => stateOf(s, y.b).state === 'awaiting-approval');
  expect(releasesOf(y.d)).toEqual([]); // d was never approved: never started
  await tickets.act('acme', perApp.id, 'abort', { by: 'dave', reason: 'change freeze' });
  const aborted = await tickets.result('acme', perApp.id);
  expect(aborted.state).toBe('aborted');
  expect(stateOf(aborted, y.a).state).toBe('succeeded');
  for (const app of [y.b, y.c, y.d]) expect(stateOf(aborted, app).state).toBe('aborted');
  expect(releasesOf(y.b)).toEqual([]);
  await expect(tickets.act('acme', perApp.id, 'resume', { by: 'dave' })).rejects.toThrow(/has ended/);
});

test('an app whose release is already in flight is queued behind it, says so, and runs once that one ends', async () => {
  const x = await fourApps();
  const before = await w.releases.startRelease({
    app: x.a,
    tenant: 'acme',
    requestedBy: 'erin',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  await untilRelease(w.releases, before, 'the release in flight at its gate', (s) => s.state === 'waiting-approval');
  const { id } = await tickets.create({ tenant: 'acme', title: 'behind', entries: [{ app: x.a, strategy: { groups: 1 } }] }, 'alice');
  const queued = await until(
    id,
    'a queued behind the release in flight',
    (s) => stateOf(s, x.a).state === 'queued' && !!stateOf(s, x.a).reason,
  );
  expect(stateOf(queued, x.a).reason).toBe(`behind the release of ${x.a} already in flight`);
  expect(releasesOf(x.a)).toHaveLength(1); // the first group of the release in flight only
  await w.releases.approve(before, { by: 'erin' });
  const done = await tickets.result('acme', id);
  expect(done.state).toBe('succeeded');
  expect((await w.releases.result(before)).state).toBe('succeeded');
  expect(stateOf(done, x.a)).toMatchObject({ state: 'succeeded', attempts: 1 });
  expect(stateOf(done, x.a).release?.runId).not.toBe(before.runId);
});

test('bad tickets are refused naming the field, and nothing starts', async () => {
  const x = await fourApps();
  const refused = async (spec: Record<string, unknown>) => {
    const err = await tickets.create({ tenant: 'acme', title: 'bad', ...spec }, 'alice').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).issues.map((i) => `${i.field}: ${i.message}`);
  };
  expect(
    await refused({
      entries: [
        { app: x.a, dependsOn: [x.b] },
        { app: x.b, dependsOn: [x.a] },
      ],
    }),
  ).toEqual([`entries[0].dependsOn: dependency cycle: ${x.a} → ${x.b} → ${x.a}`]);
  expect(await refused({ entries: [{ app: x.a }, { app: x.a }] })).toEqual([
    `entries[1].app: app ${x.a} is in the ticket twice (entries[0])`,
  ]);
  expect(await refused({ entries: [{ app: x.a, dependsOn: ['nope'] }] })).toEqual([
    'entries[0].dependsOn[0]: app nope is not in the ticket: a dependency must be one of its entries',
  ]);
  expect(await refused({ entries: [{ app: 'ghost' }] })).toEqual(['entries[0].app: app ghost is not registered for tenant acme']);
  expect(await refused({ entries: [{ app: x.a, revision: 9 }] })).toEqual([
    `entries[0].revision: app ${x.a} has no revision 9; kept revisions: 1, 2`,
  ]);
  expect(await refused({ entries: [] })).toEqual(['entries: a ticket releases at least one app']);
  expect(await refused({ entries: [{ app: x.a }], maxParallel: 0 })).toEqual(['maxParallel: must be at least 1']);
  expect(await refused({ entries: [{ app: x.a }], approval: 'sometimes' })).toEqual([
    'approval: approval must be one of none, before-start, per-app',
  ]);
  expect(w.released.filter((r) => Object.values(x).some((app) => r.pod.startsWith(`${app}-`)))).toEqual([]);
});
