import type { ReleaseRef } from '../../api/release-client.js';
import type { Webhook } from '../../domain/notifications.js';
import { tenantNotificationsId, webhooksQuery } from '../../workflows/notification-definitions.js';
import { NOTIFICATION_ATTEMPTS } from '../../workflows/tenant-notifications.js';
import type { ReleaseStatus } from '../../workflows/release-status.js';
import protos from '@temporalio/proto';
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
}, 120_000);
afterAll(async () => {
  await w?.stop();
});

/**
 * Each test has a tenant of its own, whose notifier starts with its webhooks: no Update (the time-skipping server
 * answers one Update of a workflow only) and no notifier shared by the tests, so that one the test server strands
 * fails only its own test, with its history in the message (a CI run saw every test after the first get nothing).
 * `pager` fails only while a test lists it in w.failingWebhooks.
 */
let tenants = 0;
async function tenantWithWebhooks(): Promise<string> {
  const tenant = `notify${++tenants}`;
  await w.env.client.workflow.start('tenantNotifications', {
    workflowId: tenantNotificationsId(tenant),
    taskQueue: w.taskQueue,
    args: [{ tenant, webhooks: [webhook('ops'), webhook('chat', ['succeeded']), webhook('pager')] }],
  });
  return tenant;
}

let apps = 0;
async function manualRelease(tenant: string): Promise<{ app: string; ref: ReleaseRef }> {
  const app = `notify-${++apps}`;
  await w.registerApp(app, { revisions: 2, replicas: 2, tenant });
  const ref = await w.releases.startRelease({
    app,
    tenant,
    requestedBy: 'alice',
    strategy: { groups: 2, gate: { type: 'manual' } },
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

/** `probe()` once it answers; else fails naming what never came and the last events of the tenant's notifier. */
async function eventually<T>(tenant: string, what: string, probe: () => T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${await notifierEvents(tenant)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function notifierEvents(tenant: string): Promise<string> {
  try {
    const history = await w.env.client.workflow.getHandle(tenantNotificationsId(tenant)).fetchHistory();
    const names = (history.events ?? []).map((e) => protos.temporal.api.enums.v1.EventType[e.eventType ?? 0]?.replace(/^EVENT_TYPE_/, ''));
    return `the notifier's last events: ${names.slice(-25).join(', ')}`;
  } catch (err) {
    return `the notifier's history could not be read: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The release's status once it has ended as `state` (polled: the test server skips no time meanwhile). */
const endsAs = (ref: ReleaseRef, state: ReleaseStatus['state']) => until(w.releases, ref, `the release ${state}`, (s) => s.state === state);

const atGate = (s: ReleaseStatus) => s.state === 'waiting-approval';

test('needs-approval, paused (with reason) and succeeded reach every webhook that wants them, naming the release, revisions, group and reason', async () => {
  const tenant = await tenantWithWebhooks();
  // no secret is shown to those who read the webhooks
  const view = await w.env.client.workflow.getHandle(tenantNotificationsId(tenant)).query(webhooksQuery);
  expect(view).toEqual([
    expect.objectContaining({ name: 'ops', events: 'all', secretSet: true }),
    expect.objectContaining({ name: 'chat', events: ['succeeded'], secretSet: true }),
    expect.objectContaining({ name: 'pager', events: 'all', secretSet: true }),
  ]);
  expect(JSON.stringify(view)).not.toContain('secret-0123456789');

  const { app, ref } = await manualRelease(tenant);
  await until(w.releases, ref, 'the gate after group 0', atGate);
  const asked = await eventually(tenant, 'needs-approval delivered', () => received(app, 'ops')[0]);
  expect(asked).toMatchObject({
    event: 'needs-approval',
    tenant,
    app,
    release: { workflowId: ref.workflowId, runId: ref.runId },
    revision: { from: 1, to: 2 },
    group: 0,
    reason: 'the gate after group 0 waits for an approval',
  });
  expect(asked.id).toBe(`${ref.workflowId}/${ref.runId}/1`);
  expect(Date.parse(asked.at)).not.toBeNaN();

  await w.releases.pause(ref, { by: 'bob', reason: 'database maintenance' });
  const paused = await eventually(tenant, 'paused delivered', () => received(app, 'ops').find((x) => x.event === 'paused'));
  expect(paused).toMatchObject({ reason: 'database maintenance', pause: { by: 'bob' }, group: 0 });
  await w.releases.resume(ref, { by: 'bob' });
  await w.releases.approve(ref, { by: 'carol' });
  await endsAs(ref, 'succeeded');

  await eventually(
    tenant,
    'succeeded delivered to both',
    () => (received(app, 'chat').length === 1 && received(app, 'ops').length === 3) || undefined,
  );
  expect(received(app, 'ops').map((x) => x.event)).toEqual(['needs-approval', 'paused', 'succeeded']);
  expect(received(app, 'ops')[2]).toMatchObject({ reason: 'all 2 pods at revision 2', group: 1 });
  expect(received(app, 'chat')).toEqual([received(app, 'ops')[2]]);
});

test('a pod that fails its step: paused names the pod and step; after a rollback, rolled-back', async () => {
  const tenant = await tenantWithWebhooks();
  const { app, ref } = await manualRelease(tenant);
  // group 0 is done at the gate; group 1's pod fails once approved
  const s0 = await until(w.releases, ref, 'the gate after group 0', atGate);
  const failing = s0.groups[1]!.pods[0]!;
  w.failing.set(failing, { pod: failing, step: 'await-ready', reason: 'image never became ready', revision: 2 });
  try {
    await w.releases.approve(ref, { by: 'carol' });
    await until(w.releases, ref, 'paused on the failing pod', (s) => s.state === 'paused');
    const paused = await eventually(tenant, 'paused delivered', () => received(app, 'ops').find((x) => x.event === 'paused'));
    expect(paused).toMatchObject({
      reason: 'image never became ready',
      pause: { pod: failing, step: 'await-ready', by: 'barista' },
      revision: { from: 1, to: 2 },
      group: 1,
    });
    await w.releases.rollback(ref, { by: 'oncall', reason: 'bad image' });
    await endsAs(ref, 'rolled-back');
  } finally {
    w.failing.delete(failing);
  }
  const ended = await eventually(tenant, 'rolled-back delivered', () => received(app, 'ops').find((x) => x.event === 'rolled-back'));
  expect(ended.reason).toMatch(/^rolled back \d+ pods to revision 1$/);
  expect(received(app, 'ops').map((x) => x.event)).toEqual(['needs-approval', 'paused', 'rolled-back']);
});

test('a webhook that always fails is dead-lettered after its attempts, without holding the release', async () => {
  w.failingWebhooks.add('pager');
  try {
    const tenant = await tenantWithWebhooks();
    const { app, ref } = await manualRelease(tenant);
    await until(w.releases, ref, 'the gate after group 0', atGate);
    // the healthy webhook hears at once; the failing one's retries (10 s … 5 min apart) are skipped through
    await eventually(tenant, 'needs-approval delivered to ops', () => received(app, 'ops')[0]);
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
        tenant,
        workflowId: ref.workflowId,
        runId: ref.runId,
        action: 'notification-dead-lettered',
        detail: `needs-approval (${ref.workflowId}/${ref.runId}/1) to webhook pager after ${NOTIFICATION_ATTEMPTS} attempts: webhook pager answered 503`,
      }),
    ]);

    // the release ends while its last delivery to pager is still failing: it is not held, and the dead letter follows
    await w.releases.approve(ref, { by: 'carol' });
    await endsAs(ref, 'succeeded');
    await eventually(tenant, 'succeeded delivered to ops', () => received(app, 'ops')[1]);
    expect(received(app, 'ops').map((x) => x.event)).toEqual(['needs-approval', 'succeeded']);
    await w.env.sleep('15 minutes');
    await eventually(tenant, 'the succeeded dead letter in the durable record', () =>
      [...w.audited.values()].find((e) => e.kind === 'notification' && e.app === app && e.detail?.startsWith('succeeded ')),
    );
  } finally {
    w.failingWebhooks.delete('pager');
  }
});
