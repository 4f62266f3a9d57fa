import type { ReleaseRef } from '../../api/release-client.js';
import type { Webhook } from '../../domain/notifications.js';
import { tenantNotificationsId, webhooksQuery } from '../../workflows/notification-definitions.js';
import { NOTIFICATION_ATTEMPTS } from '../../workflows/tenant-notifications.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';
import { startWorkflowTestEnv, until, type WorkflowTestEnv } from './workflow-env.js';

/**
 * Notifications on the real AppRelease and TenantNotifications workflows (time-skipping test server; the POST is
 * faked in workflow-env.ts): a release tells its tenant's webhooks when a gate needs an approval, when it pauses
 * (with the reason, pod and step) and how it ends; a webhook that never answers is dead-lettered after its
 * attempts, and the release goes on without waiting for it.
 */
const webhook = (name: string, events?: Webhook['events']): Webhook => ({
  name,
  url: `https://hooks.example/${name}`,
  secret: `${name}-secret-0123456789`,
  ...(events ? { events } : {}),
  updatedBy: 'ada',
  updatedAt: new Date().toISOString(),
});

let w: WorkflowTestEnv;
beforeAll(async () => {
  w = await startWorkflowTestEnv();
  // every webhook set once, for all tests: `pager` fails only while a test lists it in w.failingWebhooks (the
  // time-skipping server answers one Update of a workflow only, and a notifier terminated and started afresh
  // between tests left it no longer skipping time)
  await w.env.client.workflow.start('tenantNotifications', {
    workflowId: tenantNotificationsId('acme'),
    taskQueue: w.taskQueue,
    args: [{ tenant: 'acme', webhooks: [webhook('ops'), webhook('chat', ['succeeded']), webhook('pager')] }],
  });
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

let n = 0;
async function manualRelease(o: { revisions?: number; groups?: number } = {}): Promise<{ app: string; ref: ReleaseRef }> {
  const app = `notify-${++n}`;
  await w.registerApp(app, { revisions: o.revisions ?? 2, replicas: 2 });
  const ref = await w.releases.startRelease({
    app,
    tenant: 'acme',
    requestedBy: 'alice',
    strategy: { groups: o.groups ?? 2, gate: { type: 'manual' } },
  });
  return { app, ref };
}

/** What `webhook` received about `app`, in the order the release emitted it. */
function received(app: string, hook: string) {
  return w.notifications
    .filter((d) => d.webhook === hook && d.notification.app === app)
    .map((d) => d.notification)
    .sort((a, b) => Number(a.id.split('/').pop()) - Number(b.id.split('/').pop()));
}

async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const atGate = (s: ReleaseStatus) => s.state === 'waiting-approval';

test('needs-approval, paused (with reason) and succeeded reach every webhook that wants them, naming the release, revisions, group and reason', async () => {
  // no secret is shown to those who read the webhooks
  const view = await w.env.client.workflow.getHandle(tenantNotificationsId('acme')).query(webhooksQuery);
  expect(view).toEqual([
    expect.objectContaining({ name: 'ops', events: 'all', secretSet: true }),
    expect.objectContaining({ name: 'chat', events: ['succeeded'], secretSet: true }),
    expect.objectContaining({ name: 'pager', events: 'all', secretSet: true }),
  ]);
  expect(JSON.stringify(view)).not.toContain('secret-0123456789');

  const { app, ref } = await manualRelease();
  await until(w.releases, ref, 'the gate after group 0', atGate);
  const asked = await eventually('needs-approval delivered', () => received(app, 'ops')[0]);
  expect(asked).toMatchObject({
    event: 'needs-approval',
    tenant: 'acme',
    app,
    release: { workflowId: ref.workflowId, runId: ref.runId },
    revision: { from: 1, to: 2 },
    group: 0,
    reason: 'the gate after group 0 waits for an approval',
  });
  expect(asked.id).toBe(`${ref.workflowId}/${ref.runId}/1`);
  expect(Date.parse(asked.at)).not.toBeNaN();

  await w.releases.pause(ref, { by: 'bob', reason: 'database maintenance' });
  const paused = await eventually('paused delivered', () => received(app, 'ops').find((x) => x.event === 'paused'));
  expect(paused).toMatchObject({ reason: 'database maintenance', pause: { by: 'bob' }, group: 0 });
  await w.releases.resume(ref, { by: 'bob' });
  await w.releases.approve(ref, { by: 'carol' });
  expect((await w.releases.result(ref)).state).toBe('succeeded');

  await eventually(
    'succeeded delivered to both',
    () => (received(app, 'chat').length === 1 && received(app, 'ops').length === 3) || undefined,
  );
  expect(received(app, 'ops').map((x) => x.event)).toEqual(['needs-approval', 'paused', 'succeeded']);
  expect(received(app, 'ops')[2]).toMatchObject({ reason: 'all 2 pods at revision 2', group: 1 });
  expect(received(app, 'chat')).toEqual([received(app, 'ops')[2]]);
});

test('a pod that fails its step: paused names the pod and step; after a rollback, rolled-back', async () => {
  const { app, ref } = await manualRelease();
  // group 0 is done at the gate; group 1's pod fails once approved
  const s0 = await until(w.releases, ref, 'the gate after group 0', atGate);
  const failing = s0.groups[1]!.pods[0]!;
  w.failing.set(failing, { pod: failing, step: 'await-ready', reason: 'image never became ready', revision: 2 });
  try {
    await w.releases.approve(ref, { by: 'carol' });
    await until(w.releases, ref, 'paused on the failing pod', (s) => s.state === 'paused');
    const paused = await eventually('paused delivered', () => received(app, 'ops').find((x) => x.event === 'paused'));
    expect(paused).toMatchObject({
      reason: 'image never became ready',
      pause: { pod: failing, step: 'await-ready', by: 'barista' },
      revision: { from: 1, to: 2 },
      group: 1,
    });
    await w.releases.rollback(ref, { by: 'oncall', reason: 'bad image' });
    expect((await w.releases.result(ref)).state).toBe('rolled-back');
  } finally {
    w.failing.delete(failing);
  }
  const ended = await eventually('rolled-back delivered', () => received(app, 'ops').find((x) => x.event === 'rolled-back'));
  expect(ended.reason).toMatch(/^rolled back \d+ pods to revision 1$/);
  expect(received(app, 'ops').map((x) => x.event)).toEqual(['needs-approval', 'paused', 'rolled-back']);
});

test('a webhook that always fails is dead-lettered after its attempts, without holding the release', async () => {
  w.failingWebhooks.add('pager');
  try {
    const { app, ref } = await manualRelease();
    await until(w.releases, ref, 'the gate after group 0', atGate);
    // the healthy webhook hears at once; the failing one's retries (10 s … 5 min apart) are skipped through
    await eventually('needs-approval delivered to ops', () => received(app, 'ops')[0]);
    await w.env.sleep('15 minutes');
    const s = await until(w.releases, ref, 'the dead letter in the trail', (x) =>
      x.audit.some((a) => a.action === 'notification-dead-lettered'),
    );
    expect(s.state).toBe('waiting-approval'); // still where it was: the delivery held nothing
    expect(s.audit.find((a) => a.action === 'notification-dead-lettered')).toMatchObject({
      by: 'barista',
      detail: `needs-approval to webhook pager after ${NOTIFICATION_ATTEMPTS} attempts: webhook pager answered 503`,
    });
    const dead = [...w.audited.values()].filter((e) => e.kind === 'notification' && e.app === app);
    expect(dead).toEqual([
      expect.objectContaining({
        tenant: 'acme',
        workflowId: ref.workflowId,
        runId: ref.runId,
        action: 'notification-dead-lettered',
        detail: `needs-approval (${ref.workflowId}/${ref.runId}/1) to webhook pager after ${NOTIFICATION_ATTEMPTS} attempts: webhook pager answered 503`,
      }),
    ]);

    // the release ends while its last delivery to pager is still failing: it is not held, and the dead letter follows
    await w.releases.approve(ref, { by: 'carol' });
    expect((await w.releases.result(ref)).state).toBe('succeeded');
    await eventually('succeeded delivered to ops', () => received(app, 'ops')[1]);
    expect(received(app, 'ops').map((x) => x.event)).toEqual(['needs-approval', 'succeeded']);
    await w.env.sleep('15 minutes');
    await eventually('the succeeded dead letter in the durable record', () =>
      [...w.audited.values()].find((e) => e.kind === 'notification' && e.app === app && e.detail?.startsWith('succeeded ')),
    );
  } finally {
    w.failingWebhooks.delete('pager');
  }
});
