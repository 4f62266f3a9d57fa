import { TicketClient } from '../../api/ticket-client.js';
import { tenantSettingsId } from '../../workflows/tenant-settings.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Change windows on the real AppRelease and ReleaseTicket workflows (time-skipping test server): a group boundary
 * inside a window waits, says so, and goes on when the window ends (time skipped) or when an admin bypasses it.
 */
let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

async function freeze(minutesFromNow: number, hours: number, name = 'year-end'): Promise<void> {
  // the test server's clock, which skipping moves ahead of the wall clock
  const start = new Date((await w.env.currentTimeMs()) + minutesFromNow * 60_000);
  const end = new Date(start.getTime() + hours * 3_600_000);
  // the tenant's settings workflow started afresh with the window (the time-skipping server answers one Update of
  // a workflow only; the API's Update path runs on the real server in test/scenario/release-change-windows.test.ts)
  await w.env.client.workflow
    .getHandle(tenantSettingsId('acme'))
    .terminate()
    .catch(() => undefined);
  await w.env.client.workflow.start('tenantSettings', {
    workflowId: tenantSettingsId('acme'),
    taskQueue: w.taskQueue,
    args: [
      { tenant: 'acme', changeWindows: [{ kind: 'once', name, reason: 'freeze', start: start.toISOString(), end: end.toISOString() }] },
    ],
  });
}

let n = 0;
test('a release at a group boundary inside a window waits there, then goes on by itself when it ends', async () => {
  const app = `cw-${++n}`;
  await w.registerApp(app, { revisions: 2, replicas: 2 });
  await freeze(-1, 2);
  const ref = await w.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
  });
  const waiting = await until(w.releases, ref, 'waiting for the window', (s) => s.state === 'waiting-window');
  expect(waiting.window).toMatchObject({ name: 'year-end', reason: 'freeze' });
  expect(waiting.audit.find((e) => e.action === 'window-wait')?.detail).toMatch(/^change freeze 'year-end' until \S+Z: freeze$/);
  expect(w.released.filter((r) => r.pod.startsWith(`${app}-`))).toEqual([]); // no pod moved inside the window
  await w.releases.approve(ref, { by: 'carol', group: 0 });
  // the window passes (time skipped while the result is awaited): both groups run
  const done = await w.releases.result(ref);
  expect(done.state).toBe('succeeded');
  expect(w.released.filter((r) => r.pod.startsWith(`${app}-`))).toHaveLength(2);
  expect(done.window).toBeUndefined();
});

test('an admin bypasses the window with a reason (recorded); without one the bypass is refused; no window, no bypass', async () => {
  const app = `cw-${++n}`;
  await w.registerApp(app, { revisions: 2, replicas: 2 });
  await freeze(-1, 24, 'audit-week');
  const ref = await w.releases.startRelease({ app, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
  await until(w.releases, ref, 'waiting for the window', (s) => s.state === 'waiting-window');
  await expect(w.releases.act(ref, 'bypass-window', { by: 'ada' } as never)).rejects.toThrow(/reason: is required/);
  const answer = await w.releases.act(ref, 'bypass-window', { by: 'ada', reason: 'hotfix INC-42' });
  expect(answer.recorded).toMatchObject({ by: 'ada', action: 'window-bypassed', detail: "'audit-week': hotfix INC-42" });
  const done = await until(w.releases, ref, 'succeeded', (s) => s.state === 'succeeded');
  expect(done.audit.map((e) => e.action)).toEqual(expect.arrayContaining(['window-wait', 'window-bypassed', 'finished']));

  await freeze(60, 1, 'later');
  const other = `cw-${++n}`;
  await w.registerApp(other, { revisions: 2, replicas: 1 });
  const free = await w.releases.startRelease({ app: other, tenant: 'acme', requestedBy: 'alice', strategy: { groups: 1 } });
  const result = await w.releases.result(free);
  expect(result.state).toBe('succeeded');
  expect(result.audit.some((e) => e.action === 'window-wait')).toBe(false);
  await expect(w.releases.act(free, 'bypass-window', { by: 'ada', reason: 'x' })).rejects.toThrow(/finished/);
});

test("a ticket's releases respect the window too", async () => {
  const app = `cw-${++n}`;
  await w.registerApp(app, { revisions: 2, replicas: 1 });
  await freeze(-1, 3, 'release-freeze');
  const tickets = new TicketClient(w.releases);
  const { id } = await tickets.create({ tenant: 'acme', title: 'frozen', entries: [{ app, strategy: { groups: 1 } }] }, 'alice');
  const status = await (async () => {
    for (let i = 0; i < 200; i++) {
      const s = await tickets.status('acme', id);
      const release = s.apps[0]?.release;
      if (release && (await w.releases.status(release)).state === 'waiting-window') return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the ticket’s release never waited for the window');
  })();
  expect(status.apps[0]?.state).toBe('running');
  expect((await tickets.result('acme', id)).state).toBe('succeeded');
});
