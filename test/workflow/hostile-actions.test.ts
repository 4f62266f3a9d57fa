import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { TicketClient } from '../../api/ticket-client.js';
import { TICKET_ACTION_REFUSED, ticketWorkflowId } from '../../workflows/ticket-definitions.js';
import { SETTINGS_UPDATE_REFUSED, setChangeWindowsUpdate, tenantSettingsId, tenantSettingsQuery } from '../../workflows/tenant-settings.js';
import { startWorkflowTestEnv, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Hostile Updates and signals, as `temporal workflow update` / `temporal workflow signal` by hand would send them, to a
 * ticket and to a tenant's settings workflow (time-skipping test server): no input, `{}`, `null`, wrong types, unknown
 * apps, `by` missing or empty, huge strings, unknown names. Every Update is refused by its validator naming the field,
 * every signal is ignored; no workflow task fails, nothing changes, and a valid action afterwards still works.
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

const HUGE = 'x'.repeat(100_000);

/** The reason an Update was refused with (and that it was refused as `type`, not by a failed workflow task). */
async function refusal(handle: WorkflowHandle, name: string, args: [] | [unknown], type?: string): Promise<string> {
  const sent = args.length ? handle.executeUpdate<unknown, [unknown]>(name, { args: [args[0]] }) : handle.executeUpdate<unknown, []>(name);
  const err = await sent.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause as (Error & { type?: string }) | undefined;
  if (type) expect(cause?.type).toBe(type);
  return cause?.message ?? '';
}

async function stillHealthy(handle: WorkflowHandle): Promise<void> {
  expect((await handle.describe()).status.name).toBe('RUNNING');
  const history = await handle.fetchHistory();
  expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
}

test('a ticket refuses every malformed Update naming the field, ignores signals, and still takes a valid approve', async () => {
  const app = 'hostile-a';
  await w.registerApp(app, { revisions: 2 });
  const { id } = await tickets.create(
    { tenant: 'acme', title: 'hostile', entries: [{ app, strategy: { groups: 1 } }], approval: 'before-start' },
    'alice',
  );
  const handle = w.env.client.workflow.getHandle(ticketWorkflowId('acme', id));
  const waiting = async () => {
    const s = await tickets.status('acme', id);
    expect(s.state).toBe('awaiting-approval');
    return s;
  };
  const before = await waiting();

  const cases: [action: string, args: [] | [unknown], expected: RegExp][] = [
    ['approve', [], /^invalid input: \(root\): must be an object .*got no input/],
    ['approve', [null], /\(root\): must be an object .*got null/],
    ['approve', ['approve please'], /\(root\): must be an object .*got a string/],
    ['approve', [[1, 2]], /\(root\): must be an object .*got an array/],
    ['approve', [{}], /by: is required: who takes the action/],
    ['approve', [{ by: '' }], /by: must not be empty/],
    ['approve', [{ by: '   ' }], /by: must not be empty/],
    ['approve', [{ by: 42 }], /by: must be a string/],
    ['approve', [{ by: HUGE }], /by: must be at most 200 characters/],
    ['approve', [{ by: 'eve', reason: HUGE }], /reason: must be at most 1000 characters/],
    ['approve', [{ by: 'eve', reason: 7 }], /reason: must be a string/],
    ['approve', [{ by: 'eve', app: 'ghost' }], /^app: app ghost is not in this ticket \(hostile-a\)$/],
    ['approve', [{ by: 'eve', app: 5 }], /app: must be a string/],
    ['approve', [{ by: 'eve', app: HUGE }], /app: must be at most 63 characters/],
    ['approve', [{ by: 'eve', grop: 1 }], /\(root\): Unrecognized key.*grop/],
    ['retry', [{ by: 'eve' }], /app: is required: which app of the ticket/],
    ['retry', [{ by: 'eve', app, revision: 'two' }], /revision: must be a revision number/],
    ['retry', [{ by: 'eve', app, revision: -1 }], /revision: must be ≥ 1/],
    ['skip', [{ by: 'eve', app: 'ghost' }], /app: app ghost is not in this ticket/],
    ['skip', [{ app }], /by: is required/],
    ['pause', [{ by: null }], /by: must be a string/],
    ['abort', [undefined], /got no input/],
    ['rollback', [{ by: ['eve'] }], /by: must be a string/],
    ['resume', [{ by: 'eve' }], /^the ticket is not paused$/],
  ];
  for (const [action, args, expected] of cases)
    expect([action, await refusal(handle, `ticket-${action}`, args, TICKET_ACTION_REFUSED)]).toEqual([
      action,
      expect.stringMatching(expected),
    ]);
  expect(await refusal(handle, 'ticket-explode', [{ by: 'eve' }])).toMatch(/No registered handler for update: ticket-explode/);

  // tickets take no signals: each of these, of an action's name or not, is ignored
  await handle.signal<[]>('ticket-approve');
  await handle.signal<[unknown]>('ticket-approve', null);
  await handle.signal<[unknown]>('ticket-approve', { by: 'eve' });
  await handle.signal<[unknown]>('ticket-abort', { by: HUGE });
  await handle.signal<[unknown]>('explode', { by: 'eve' });

  await stillHealthy(handle);
  const after = await waiting();
  expect(after.audit).toEqual(before.audit); // nothing recorded
  expect(after.apps).toEqual(before.apps);
  expect(w.released.filter((r) => r.pod.startsWith(`${app}-`))).toEqual([]);

  const answer = await tickets.act('acme', id, 'approve', { by: 'carol', reason: 'after the garbage' });
  expect(answer.recorded).toMatchObject({ by: 'carol', action: 'approve', detail: 'after the garbage' });
  const done = await tickets.result('acme', id);
  expect(done.state).toBe('succeeded');
  expect(done.audit.map((e) => e.by)).not.toContain('eve');
  const history = await handle.fetchHistory();
  expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
});

test("a tenant's settings workflow refuses every malformed set-change-windows naming the field, ignores signals, and still takes a valid one", async () => {
  const workflowId = tenantSettingsId('hostile');
  const handle = await w.env.client.workflow.start('tenantSettings', {
    workflowId,
    taskQueue: w.taskQueue,
    args: [{ tenant: 'hostile', changeWindows: [] }],
  });
  const once = { kind: 'once', name: 'year-end', start: '2026-12-24T00:00:00+08:00', end: '2027-01-03T00:00:00+08:00' };
  const weekly = { kind: 'weekly', name: 'friday-night', days: ['fri'], from: '18:00', to: '06:00', timeZone: 'Europe/Berlin' };
  const cases: [args: [] | [unknown], expected: RegExp][] = [
    [[], /^invalid input: \(root\): must be an object .*got no input/],
    [[null], /\(root\): must be an object .*got null/],
    [['windows'], /\(root\): must be an object .*got a string/],
    [[{}], /windows: .*by: is required/],
    [[{ windows: [] }], /by: is required: who takes the action/],
    [[{ windows: [], by: '' }], /by: must not be empty/],
    [[{ windows: [], by: 42 }], /by: must be a string/],
    [[{ windows: [], by: HUGE }], /by: must be at most 200 characters/],
    [[{ windows: 'year-end', by: 'eve' }], /^invalid input: windows: /],
    [[{ windows: [{ ...once, start: 'tomorrow' }], by: 'eve' }], /windows\[0\]\.start: must be an ISO 8601 time/],
    [[{ windows: [{ ...once, kind: 'sometimes' }], by: 'eve' }], /windows\[0\].*kind must be "once"/],
    [[{ windows: [{ ...once, name: HUGE }], by: 'eve' }], /windows\[0\]\.name: /],
    [[{ windows: [{ ...once, reason: HUGE }], by: 'eve' }], /windows\[0\]\.reason: /],
    [[{ windows: [{ ...weekly, timeZone: HUGE }], by: 'eve' }], /windows\[0\]\.timeZone: "x{64}" is not an IANA time zone/],
    [[{ windows: [{ ...weekly, days: ['someday'] }], by: 'eve' }], /windows\[0\]\.days\[0\]: must be one of/],
    [[{ windows: [once, once], by: 'eve' }], /windows\[1\]\.name: window "year-end" is named twice/],
    [[{ windows: [], by: 'eve', extra: 1 }], /\(root\): Unrecognized key.*extra/],
  ];
  for (const [args, expected] of cases)
    expect([JSON.stringify(args).slice(0, 80), await refusal(handle, 'set-change-windows', args, SETTINGS_UPDATE_REFUSED)]).toEqual([
      JSON.stringify(args).slice(0, 80),
      expect.stringMatching(expected),
    ]);
  expect(await refusal(handle, 'set-everything', [{ windows: [], by: 'eve' }])).toMatch(/No registered handler for update: set-everything/);

  await handle.signal<[]>('set-change-windows');
  await handle.signal<[unknown]>('set-change-windows', { windows: [once], by: 'eve' });
  await handle.signal<[unknown]>('explode', HUGE);

  await stillHealthy(handle);
  expect(await handle.query(tenantSettingsQuery)).toEqual({ tenant: 'hostile', changeWindows: [] });

  const set = await handle.executeUpdate(setChangeWindowsUpdate, { args: [{ windows: [once, weekly], by: 'ada' }] });
  expect(set).toMatchObject({ changeWindows: [once, weekly], updatedBy: 'ada' });
  expect(await handle.query(tenantSettingsQuery)).toMatchObject({ changeWindows: [once, weekly], updatedBy: 'ada' });
  await stillHealthy(handle);
});
