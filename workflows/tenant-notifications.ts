import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import type { Activities, NotificationActivities } from '../activities/index.js';
import type { AuditEvent } from '../domain/audit-chain.js';
import {
  NOTIFICATION_EVENTS,
  NotificationFailureTypes,
  upsertWebhook,
  wantsEvent,
  webhookName,
  WebhookInputSchema,
  webhookView,
  type DeliveryFailureDetails,
  type Notification,
  type Webhook,
  type WebhookView,
} from '../domain/notifications.js';
import { describeIssues, toFieldIssues } from '../domain/validation.js';
import { actorName, shapeError } from './action-inputs.js';
import { notificationDeadLetteredSignal } from './definitions.js';
import {
  notifySignal,
  removeWebhookUpdate,
  setWebhookUpdate,
  WebhookUpdateFailureTypes,
  webhooksQuery,
  type TenantNotificationsInput,
} from './notification-definitions.js';

/**
 * Attempts of one delivery to one webhook before it is dead-lettered: the first and five retries, 10 s apart at
 * first, doubling up to 5 min (about 5 minutes in all). A receiver's refusal (4xx but 408/429) is not retried.
 */
export const NOTIFICATION_ATTEMPTS = 6;
const { deliverNotification } = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '10s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: NOTIFICATION_ATTEMPTS,
    nonRetryableErrorTypes: [NotificationFailureTypes.refused],
  },
});
/** The dead-letter record goes to the audit store: retried until it answers, as every audit entry is. */
const { appendAudit } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** Deliveries running at once (one notification to one webhook each): a burst of events waits in the queue. */
const MAX_DELIVERIES_IN_FLIGHT = 20;
/** Past this many history events the notifier starts afresh (continue-as-new) with its webhooks and its queue. */
const HISTORY_EVENTS_PER_RUN = 10_000;

const SetWebhookInput = z.strictObject(
  { webhook: WebhookInputSchema, by: actorName },
  { error: shapeError('{"webhook": {"name": "chat", "url": "https://…", "secret": "…"}, "by": "alice"}') },
);
const RemoveWebhookInput = z.strictObject({ name: webhookName, by: actorName }, { error: shapeError('{"name": "chat", "by": "alice"}') });

/**
 * TenantNotifications: one long-lived workflow per tenant (docs/notifications.md). It keeps the tenant's webhooks
 * (set and removed by Updates, validated before they are accepted) and delivers the notifications its releases
 * signal, each to every webhook that wants the event, each delivery retried on its own. A release never waits
 * for it. A delivery that fails every attempt is dead-lettered: recorded in the durable audit record (kind
 * `notification`, under the release's workflow and run id) and told to the release, which records
 * `notification-dead-lettered` in its own trail while it runs.
 */
export async function tenantNotifications(input: TenantNotificationsInput): Promise<void> {
  const { tenant } = input;
  let webhooks = input.webhooks;
  const queue: Notification[] = [...(input.pending ?? [])];
  let inFlight = 0;

  setHandler(webhooksQuery, () => webhooks.map(webhookView));
  setHandler(
    setWebhookUpdate as UpdateDefinition<WebhookView, [unknown]>,
    (raw: unknown) => {
      const next = webhooksAfterSet(webhooks, raw);
      webhooks = next.webhooks;
      return webhookView(next.set);
    },
    { validator: (raw: unknown) => void webhooksAfterSet(webhooks, raw) },
  );
  setHandler(
    removeWebhookUpdate as UpdateDefinition<{ removed: string }, [unknown]>,
    (raw: unknown) => {
      const { name } = webhookToRemove(tenant, webhooks, raw);
      webhooks = webhooks.filter((w) => w.name !== name);
      return { removed: name };
    },
    { validator: (raw: unknown) => void webhookToRemove(tenant, webhooks, raw) },
  );
  // any input, never a failed workflow task: what is not a notification of this tenant's releases is dropped
  setHandler(notifySignal, (raw: unknown) => {
    if (isNotificationOf(tenant, raw)) queue.push(raw);
  });

  const renew = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_EVENTS_PER_RUN;
  for (;;) {
    await condition(() => (queue.length > 0 && inFlight < MAX_DELIVERIES_IN_FLIGHT) || renew());
    if (renew()) break;
    const notification = queue.shift()!;
    // the webhooks as they are now: one added since the event was emitted gets it, one removed does not
    for (const webhook of webhooks.filter((w) => wantsEvent(w, notification.event))) {
      inFlight++;
      void deliver(notification, webhook).finally(() => inFlight--);
    }
  }
  // deliveries in flight end first (at most their attempts); what arrives meanwhile is carried over
  await condition(() => inFlight === 0);
  await condition(allHandlersFinished);
  await continueAsNew<typeof tenantNotifications>({ tenant, webhooks, pending: queue });
}

async function deliver(notification: Notification, webhook: Webhook): Promise<void> {
  try {
    await deliverNotification({
      tenant: notification.tenant,
      webhook: { name: webhook.name, url: webhook.url, secret: webhook.secret },
      notification,
    });
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as DeliveryFailureDetails | undefined) : undefined;
    await deadLetter(
      notification,
      webhook.name,
      details?.attempt ?? NOTIFICATION_ATTEMPTS,
      cause instanceof Error ? cause.message : String(cause),
    );
  }
}

async function deadLetter(n: Notification, webhook: string, attempts: number, reason: string): Promise<void> {
  const record: AuditEvent = {
    id: `${n.id}/${webhook}`,
    tenant: n.tenant,
    at: new Date().toISOString(),
    kind: 'notification',
    workflowId: n.release.workflowId,
    runId: n.release.runId,
    app: n.app,
    ...(n.ticket ? { ticket: n.ticket } : {}),
    actor: 'barista',
    action: 'notification-dead-lettered',
    detail: `${n.event} (${n.id}) to webhook ${webhook} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`,
  };
  await appendAudit({ events: [record] });
  // a release that has ended takes no signal: the durable record above is then the only one
  await getExternalWorkflowHandle(n.release.workflowId, n.release.runId)
    .signal(notificationDeadLetteredSignal, { event: n.event, webhook, attempts, reason })
    .catch(() => undefined);
}

/**
 * `raw` parsed by `schema`, or an ApplicationFailure naming each bad field (never a secret's value). Run by each
 * Update's validator (so a bad input is refused before it is accepted) and again by its handler, which may throw
 * only a Temporal failure: anything else would fail the workflow task.
 */
function parseOrRefuse<T>(schema: z.ZodType<T>, raw: unknown): T {
  let parsed: z.ZodSafeParseResult<T>;
  try {
    parsed = schema.safeParse(raw);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `invalid input: ${err instanceof Error ? err.message : String(err)}`,
      WebhookUpdateFailureTypes.invalidInput,
    );
  }
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `invalid input: ${describeIssues(toFieldIssues(parsed.error))}`,
      WebhookUpdateFailureTypes.invalidInput,
    );
  return parsed.data;
}

/** The webhooks after a `set-notification-webhook`, or the refusal (validator and handler alike). */
function webhooksAfterSet(webhooks: Webhook[], raw: unknown): { webhooks: Webhook[]; set: Webhook } {
  const { webhook, by } = parseOrRefuse(SetWebhookInput, raw);
  const next = upsertWebhook(webhooks, webhook, by, new Date().toISOString());
  if (!next.ok)
    throw ApplicationFailure.nonRetryable(`invalid input: webhook.${next.field}: ${next.reason}`, WebhookUpdateFailureTypes.invalidInput);
  return { webhooks: next.webhooks, set: next.webhooks.find((w) => w.name === webhook.name)! };
}

function webhookToRemove(tenant: string, webhooks: Webhook[], raw: unknown): { name: string; by: string } {
  const input = parseOrRefuse(RemoveWebhookInput, raw);
  if (!webhooks.some((w) => w.name === input.name))
    throw ApplicationFailure.nonRetryable(`tenant ${tenant} has no webhook named ${input.name}`, WebhookUpdateFailureTypes.notFound);
  return input;
}

function isNotificationOf(tenant: string, raw: unknown): raw is Notification {
  const n = raw as Partial<Notification> | null | undefined;
  return (
    typeof n === 'object' &&
    n !== null &&
    n.tenant === tenant &&
    typeof n.id === 'string' &&
    typeof n.app === 'string' &&
    (NOTIFICATION_EVENTS as readonly unknown[]).includes(n.event) &&
    typeof n.release?.workflowId === 'string' &&
    typeof n.release.runId === 'string'
  );
}
