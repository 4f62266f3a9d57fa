import { getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Notification, NotificationEventName } from '../domain/notifications.js';
import { notificationDeadLetteredSignal } from './definitions.js';
import { notifySignal, tenantNotificationsId } from './notification-definitions.js';
import type { ReleaseTracker } from './release-state.js';
import type { PauseReason, ReleaseState } from './release-status.js';

/** The release states the tenant's webhooks hear of, and the event each is told as (docs/notifications.md). */
const EVENT_OF: Partial<Record<ReleaseState, NotificationEventName>> = {
  'waiting-approval': 'needs-approval',
  paused: 'paused',
  failed: 'failed',
  'rolled-back': 'rolled-back',
  succeeded: 'succeeded',
  'succeeded-with-skips': 'succeeded-with-skips',
  aborted: 'aborted',
};

/**
 * Tells the tenant's notifier (workflows/tenant-notifications.ts) what happens to a release: each notable change is
 * one signal. The release never waits for a delivery, and a delivery failing goes on (and dead-letters) without
 * it. The release only emits events; which webhooks get them, their URLs and secrets are the notifier's. A tenant
 * without a notifier (it never set a webhook) has nobody to tell: the signal finds no workflow and is dropped.
 */
export class ReleaseNotifier {
  private count = 0;
  private readonly signalling: Promise<void>[] = [];

  constructor(
    private readonly t: ReleaseTracker,
    private readonly about: { ticket?: string },
  ) {}

  notify(event: NotificationEventName, detail: { reason?: string; pause?: PauseReason }): void {
    const { workflowId, runId } = workflowInfo();
    const n = ++this.count;
    const { pause } = detail;
    const notification: Notification = {
      id: `${workflowId}/${runId}/${n}`,
      event,
      tenant: this.t.tenant,
      app: this.t.app,
      release: { workflowId, runId },
      ...(this.about.ticket ? { ticket: this.about.ticket } : {}),
      revision: { ...(this.t.from !== undefined ? { from: this.t.from } : {}), to: this.t.to },
      ...(this.t.currentGroup !== undefined ? { group: this.t.currentGroup } : {}),
      ...(detail.reason ? { reason: detail.reason } : {}),
      ...(pause
        ? {
            pause: {
              ...(pause.pod ? { pod: pause.pod } : {}),
              ...(pause.step ? { step: pause.step } : {}),
              ...(pause.by ? { by: pause.by } : {}),
              ...(pause.check ? { check: { name: pause.check.name, type: pause.check.type, state: pause.check.state } } : {}),
            },
          }
        : {}),
      at: new Date().toISOString(),
    };
    this.signalling.push(
      getExternalWorkflowHandle(tenantNotificationsId(this.t.tenant))
        .signal(notifySignal, notification)
        .catch(() => undefined),
    );
  }

  /**
   * Resolves once every signal is delivered (or found no notifier). The release awaits it before it closes, so that
   * its last event (how it ended) is not lost with it: one workflow task, not the deliveries.
   */
  async sent(): Promise<void> {
    await Promise.all(this.signalling);
  }
}

/** Wires the release's notable changes to a notifier, and records the deliveries its webhooks never took. */
export function wireNotifications(t: ReleaseTracker, about: { ticket?: string }): ReleaseNotifier {
  const notifier = new ReleaseNotifier(t, about);
  t.onNotable = (state, detail) => {
    const event = EVENT_OF[state];
    if (!event) return;
    const reason = event === 'needs-approval' ? `the gate after group ${t.currentGroup ?? 0} waits for an approval` : detail.reason;
    notifier.notify(event, { ...detail, ...(reason ? { reason } : {}) });
  };
  // sent by the tenant's notifier: any input is recorded as it can be, never failing a workflow task
  setHandler(notificationDeadLetteredSignal, (raw) => {
    const d = (raw ?? {}) as Partial<Record<'event' | 'webhook' | 'attempts' | 'reason', unknown>>;
    t.record(
      'barista',
      'notification-dead-lettered',
      `${String(d.event)} to webhook ${String(d.webhook)} after ${String(d.attempts)} attempts: ${String(d.reason)}`,
    );
  });
  return notifier;
}
