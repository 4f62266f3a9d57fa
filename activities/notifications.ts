import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { NotificationFailureTypes, type DeliveryFailureDetails, type Notification, type Webhook } from '../domain/notifications.js';
import { signatureHeaders } from './checks/signature.js';

/** Where the links of a notification point; each is left out when not known. */
export interface NotificationLinks {
  /** The Barista API as people reach it (BARISTA_PUBLIC_URL): `links.release` is the release's status there. */
  api?: string;
  /** The Temporal UI (BARISTA_TEMPORAL_UI_URL): `links.temporal` is the release's run there. */
  temporalUi?: string;
}

/** One POST: the receiver must answer within this (the activity's start-to-close timeout leaves room above it). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Statuses worth trying again: the receiver is busy or briefly down. Any other non-2xx is its final word. */
const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * The notification activity (docs/notifications.md), called by the tenant's notifier workflow with the webhook as its
 * settings are when the delivery starts.
 */
export function createNotificationActivities(deps: { links?: NotificationLinks; namespace: string; logger?: Logger }) {
  const links = deps.links ?? {};

  function linksOf(n: Notification): Notification['links'] {
    const { workflowId, runId } = n.release;
    return {
      ...(links.api
        ? { release: `${links.api.replace(/\/$/, '')}/v1/tenants/${n.tenant}/apps/${n.app}/releases/${encodeURIComponent(runId)}` }
        : {}),
      ...(links.temporalUi
        ? {
            temporal: `${links.temporalUi.replace(/\/$/, '')}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`,
          }
        : {}),
    };
  }

  return {
    /**
     * POSTs the notification to one webhook, signed with its secret (activities/checks/signature.ts). A 2xx is
     * delivered; a timeout, refused connection, 408, 429 or 5xx fails this attempt (Temporal retries it); any other
     * answer is the receiver's refusal and is not retried. The secret is never logged nor put in an error.
     */
    async deliverNotification(input: {
      tenant: string;
      webhook: Pick<Webhook, 'name' | 'url' | 'secret'>;
      notification: Notification;
    }): Promise<{ delivered: true; status: number }> {
      const { webhook, notification } = input;
      const attempt = currentAttempt();
      const body = JSON.stringify({ ...notification, links: linksOf(notification) });
      const log = { tenant: input.tenant, webhook: webhook.name, event: notification.event, id: notification.id, attempt };
      let status: number;
      try {
        const res = await fetch(webhook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'barista-notifications',
            'x-barista-event': notification.event,
            'x-barista-delivery': notification.id,
            ...signatureHeaders(webhook.secret, body),
          },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined); // the answer's body is not read
      } catch (err) {
        // duck-typed: the abort's DOMException may come from another realm (jest's VM), where instanceof fails
        const e = err as { name?: string; message?: string; cause?: { name?: string; message?: string } };
        const timedOut = [e.name, e.cause?.name].some((n) => n === 'TimeoutError' || n === 'AbortError');
        const reason = timedOut
          ? `webhook ${webhook.name} gave no answer within ${DELIVERY_TIMEOUT_MS / 1000}s`
          : `webhook ${webhook.name} could not be reached: ${e.cause?.message ?? e.message ?? String(err)}`;
        deps.logger?.warn(log, reason);
        throw failure(reason, false, { attempt });
      }
      if (status >= 200 && status < 300) return { delivered: true, status };
      const retryable = RETRYABLE_STATUS(status);
      const reason = `webhook ${webhook.name} answered ${status}${retryable ? '' : ' (not retried: the receiver refused the delivery)'}`;
      deps.logger?.warn({ ...log, status }, reason);
      throw failure(reason, !retryable, { attempt, status });
    },
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;

function failure(message: string, nonRetryable: boolean, details: DeliveryFailureDetails): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: nonRetryable ? NotificationFailureTypes.refused : NotificationFailureTypes.failed,
    nonRetryable,
    details: [details],
  });
}

function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}
