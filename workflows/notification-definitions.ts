import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Notification, Webhook, WebhookView } from '../domain/notifications.js';

/**
 * The tenant's notifier (workflows/tenant-notifications.ts, docs/notifications.md): one long-lived workflow per
 * tenant that keeps its webhooks and delivers what its releases tell it. Defined here once for the workflow, the
 * releases that signal it and the API.
 */
export function tenantNotificationsId(tenant: string): string {
  return `notifications/${tenant}`;
}

export interface TenantNotificationsInput {
  tenant: string;
  webhooks: Webhook[];
  /** Notifications received and not yet handed to a delivery, carried over a continue-as-new. */
  pending?: Notification[];
}

/** A release tells the notifier something happened (never waits for the delivery). */
export const notifySignal = defineSignal<[Notification]>('notify');
/** The webhooks as anyone with read access may see them: never a secret, only `secretSet`. */
export const webhooksQuery = defineQuery<WebhookView[]>('notification-webhooks');
/** Creates or changes one webhook (a new one needs a secret; a changed one keeps its secret unless given one). */
export const setWebhookUpdate = defineUpdate<WebhookView, [{ webhook: unknown; by: string }]>('set-notification-webhook');
export const removeWebhookUpdate = defineUpdate<{ removed: string }, [{ name: string; by: string }]>('remove-notification-webhook');

/** ApplicationFailure types the webhook Updates are refused with (by their validators): nothing changed. */
export const WebhookUpdateFailureTypes = {
  invalidInput: 'InvalidWebhookInput',
  notFound: 'WebhookNotFound',
} as const;
