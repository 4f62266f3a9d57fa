import { WorkflowUpdateFailedError } from '@temporalio/client';
import { RevisionClient } from '../../api/revision-client.js';
import { TicketClient } from '../../api/ticket-client.js';
import { AppSpecSchema, DomainError } from '../../domain/index.js';
import { appEntityId } from '../../workflows/app-entity.js';
import { appQuery, MarkFailureTypes, markRevisionUpdate, upsertAppUpdate } from '../../workflows/definitions.js';
import { appSpec } from '../support/app-spec.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Revision marks on the App entity (time-skipping test server, fake activities): the `mark-revision` Update and its
 * validator, the history that shows each mark, the audit entries, and the rule that a release without a revision
 * never targets a revision marked bad.
 */
let w: WorkflowTestEnv;
let revisions: RevisionClient;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
  revisions = new RevisionClient(w.releases);
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

/** What a promise was rejected with. */
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** Polls until `predicate` holds (the audit outbox appends in the background). */
async function eventually<T>(what: string, read: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a revision marked bad, then good: each mark recorded on the entity, shown in the history and audited once', async () => {
  const app = 'marks-history';
  await w.registerApp(app, { revisions: 3, cells: ['rz00a', 'rz00b'] });

  const bad = await revisions.mark('acme', app, { revision: 3, verdict: 'bad', reason: 'crash loop in rz00a', by: 'alice' });
  expect(bad).toEqual({
    tenant: 'acme',
    app,
    revision: 3,
    mark: { verdict: 'bad', reason: 'crash loop in rz00a', by: 'alice', at: expect.any(String) },
  });

  const history = await revisions.history('acme', app);
  expect(history).toMatchObject({ tenant: 'acme', app, latest: 3, olderRevisions: {} });
  expect(history.revisions.map((r) => r.revision)).toEqual([3, 2, 1]);
  expect(history.revisions[0]).toEqual({
    revision: 3,
    latest: true,
    createdAt: expect.any(String),
    createdBy: 'alice',
    images: { app: 'registry.local/app:3' },
    cells: [],
    mark: bad.mark,
  });
  // the revision before the last is released everywhere (workflow-env's registerApp)
  expect(history.revisions[1]).toMatchObject({
    revision: 2,
    latest: false,
    cells: ['rz00a', 'rz00b'],
    images: { app: 'registry.local/app:2' },
  });
  expect(history.revisions[1]!.mark).toBeUndefined();

  const good = await revisions.mark('acme', app, { revision: 3, verdict: 'good', reason: 'fixed by a config change', by: 'bob' });
  expect(good.previous).toEqual(bad.mark);
  expect((await revisions.history('acme', app)).revisions[0]!.mark).toMatchObject({ verdict: 'good', by: 'bob' });

  const entries = await eventually('both marks audited', () => {
    const mine = [...w.audited.values()].filter((e) => e.kind === 'app' && e.app === app);
    return mine.length === 2 ? mine : undefined;
  });
  expect(entries.map((e) => [e.actor, e.action, e.detail])).toEqual([
    ['alice', 'revision-marked-bad', expect.stringMatching(/^revision 3 marked bad by alice at .*: crash loop in rz00a$/)],
    ['bob', 'revision-marked-good', expect.stringMatching(/^revision 3 marked good by bob at .*: fixed by a config change$/)],
  ]);
  expect(entries[0]!.workflowId).toBe(appEntityId('acme', app));
});

test('the validator refuses a revision not kept (naming it) and bad input (naming the field); nothing changes, no task fails', async () => {
  const app = 'marks-refused';
  await w.registerApp(app, { revisions: 3 });
  const handle = w.env.client.workflow.getHandle(appEntityId('acme', app));
  const before = await handle.query(appQuery);

  const unknown = await rejection(revisions.mark('acme', app, { revision: 9, verdict: 'bad', reason: 'x', by: 'alice' }));
  expect(unknown).toBeInstanceOf(DomainError);
  expect(unknown).toMatchObject({ code: 'NOT_FOUND', message: `revision 9 of acme/${app} does not exist; kept revisions: 1, 2, 3` });

  const blank = await rejection(revisions.mark('acme', app, { revision: 3, verdict: 'bad', reason: '   ', by: 'alice' }));
  expect(blank).toMatchObject({
    code: 'INVALID_INPUT',
    issues: [{ field: 'reason', message: 'must not be empty: why the revision is marked' }],
  });

  const noApp = await rejection(revisions.mark('acme', 'never-registered', { revision: 1, verdict: 'bad', reason: 'x', by: 'alice' }));
  expect(noApp).toMatchObject({ code: 'NOT_FOUND', message: 'app acme/never-registered is not registered' });

  // by hand (`temporal workflow update execute`): whatever comes is refused by the validator, naming what is wrong
  const cases: [unknown, RegExp][] = [
    [undefined, /^invalid input: \(root\): must be an object .*got no input/],
    [null, /got null/],
    [{ revision: 3, verdict: 'bad', by: 'alice' }, /reason: is required: why the revision is marked/],
    [{ revision: 3, verdict: 'meh', reason: 'x', by: 'alice' }, /verdict: must be "bad" or "good"/],
    [{ revision: '3', verdict: 'bad', reason: 'x', by: 'alice' }, /revision: is required: the revision number|revision: .*number/],
    [{ revision: 3, verdict: 'bad', reason: 'x' }, /by: is required/],
    [{ revision: 3, verdict: 'bad', reason: 'x', by: 'alice', extra: 1 }, /extra/],
  ];
  for (const [input, expected] of cases) {
    const sent =
      input === undefined
        ? handle.executeUpdate<unknown, []>(markRevisionUpdate.name)
        : handle.executeUpdate<unknown, [unknown]>(markRevisionUpdate.name, { args: [input] });
    const err = await rejection(sent);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe(MarkFailureTypes.invalidInput);
    expect(cause.message).toMatch(expected);
  }
  expect(await handle.query(appQuery)).toEqual(before);
  expect((await handle.fetchHistory()).events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
});

test('a release without a revision refuses a latest marked bad, naming it; an explicit one goes and its trail says so', async () => {
  const app = 'marks-release';
  await w.registerApp(app, { revisions: 3 });
  await revisions.mark('acme', app, { revision: 3, verdict: 'bad', reason: 'leaks memory', by: 'alice' });

  const plain = await rejection(w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'rita', strategy: { groups: 1 } }));
  expect(plain).toBeInstanceOf(DomainError);
  expect((plain as DomainError).code).toBe('INVALID_INPUT');
  expect((plain as DomainError).issues).toEqual([
    {
      field: 'revision',
      message: expect.stringMatching(
        new RegExp(
          `^revision 3, the latest of acme/${app}, is marked bad \\(by alice at .*: leaks memory\\); .*give an explicit revision ` +
            `\\(the newest not marked bad is 2\\), or mark 3 good$`,
        ),
      ),
    },
  ]);
  // a ticket entry without a revision takes the latest too: refused the same way, naming the entry
  const ticket = await rejection(
    new TicketClient(w.releases).create({ tenant: 'acme', title: 'bad latest', entries: [{ app, strategy: { groups: 1 } }] }, 'rita'),
  );
  expect((ticket as DomainError).issues).toEqual([{ field: 'entries[0].revision', message: expect.stringContaining('revision 3') }]);

  const explicit = await w.releases.startRelease({ app, tenant: 'acme', revision: 3, requestedBy: 'rita', strategy: { groups: 1 } });
  // polled in real time: awaiting a result lets the test server skip time, and the App entity would time out meanwhile
  const done = await until(w.releases, explicit, 'the release to 3', (s) => s.state === 'succeeded');
  expect(done.state).toBe('succeeded');
  expect(done.audit.map((a) => a.action).slice(0, 2)).toEqual(['requested', 'target-marked-bad']);
  expect(done.audit[1]).toMatchObject({
    by: 'rita',
    detail: expect.stringMatching(/^released although revision 3 marked bad by alice at .*: leaks memory$/),
  });
  expect([...w.audited.values()].some((e) => e.runId === explicit.runId && e.action === 'target-marked-bad')).toBe(true);

  // marked good, the latest is a plain release's target again
  await revisions.mark('acme', app, { revision: 3, verdict: 'good', reason: 'leak fixed in the sidecar', by: 'alice' });
  const again = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'rita', strategy: { groups: 1 } });
  const after = await until(w.releases, again, 'the plain release', (s) => s.state === 'succeeded');
  expect(after).toMatchObject({ state: 'succeeded', to: 3 });
  expect(after.audit.map((a) => a.action)).not.toContain('target-marked-bad');
});

test('marks stay with their revisions as new ones are registered, and go with a revision no longer kept', async () => {
  const app = 'marks-kept';
  await w.registerApp(app, { revisions: 10 });
  await revisions.mark('acme', app, { revision: 1, verdict: 'bad', reason: 'oldest', by: 'alice' });
  await revisions.mark('acme', app, { revision: 5, verdict: 'bad', reason: 'middle', by: 'alice' });
  const handle = w.env.client.workflow.getHandle(appEntityId('acme', app));
  const spec = AppSpecSchema.parse(appSpec(app, 'registry.local/app:11', { cells: ['rz00a'], replicasPerCell: 2 }));
  expect(await handle.executeUpdate(upsertAppUpdate, { args: [{ spec, by: 'bob' }] })).toEqual({ revision: 11, created: true });

  const record = await handle.query(appQuery);
  expect(record!.revisions.map((r) => r.number)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  expect(Object.keys(record!.marks ?? {})).toEqual(['5']);
  const history = await revisions.history('acme', app);
  expect(history.revisions[0]).toMatchObject({ revision: 11, latest: true, createdBy: 'bob', images: { app: 'registry.local/app:11' } });
  expect(history.revisions.find((r) => r.revision === 5)!.mark).toMatchObject({ verdict: 'bad', reason: 'middle' });
  // revision 9 was released everywhere before 10 and 11 were registered: still kept, still shown
  expect(history.revisions.find((r) => r.revision === 9)!.cells).toEqual(['rz00a']);
});
