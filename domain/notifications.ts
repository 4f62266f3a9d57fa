import { z } from 'zod';
import { dnsLabel } from './names.js';

/**
 * Notifications (docs/notifications.md): a tenant's webhooks are told when one of its releases needs a person or
 * ends. Each webhook has a name, an http(s) URL, a shared secret that signs every delivery, and the events it
 * wants (all of them by default, including events added later).
 */
export const NOTIFICATION_EVENTS = [
  /** A manual gate waits for an approval. */
  'needs-approval',
  /** The release paused (a pod step or a gate failed or timed out, a cluster did not answer, an operator paused it). */
  'paused',
  'failed',
  'rolled-back',
  'succeeded',
  /** Disaster mode: released everything it could reach; the cells of unreachable clusters are in its ledger. */
  'succeeded-with-skips',
  'aborted',
] as const;
export type NotificationEventName = (typeof NOTIFICATION_EVENTS)[number];

/** A secret shorter than this is refused: HMAC-SHA256 keys should carry at least 128 bits. */
export const WEBHOOK_SECRET_MIN_BYTES = 16;
export const WEBHOOK_SECRET_MAX_BYTES = 1024;
/** Webhooks per tenant: each event is delivered to each, so the settings and the fan-out stay small. */
export const MAX_WEBHOOKS = 20;

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const webhookName = dnsLabel;
export const WebhookUrlSchema = z
  .string({ error: 'is required: the http:// or https:// URL deliveries are POSTed to' })
  .max(2000, 'must be at most 2000 characters')
  .refine(isHttpUrl, 'must be an http:// or https:// URL');
export const WebhookSecretSchema = z
  .string({ error: 'must be a string' })
  .refine((s) => utf8Bytes(s) >= WEBHOOK_SECRET_MIN_BYTES, `must be at least ${WEBHOOK_SECRET_MIN_BYTES} bytes`)
  .refine((s) => utf8Bytes(s) <= WEBHOOK_SECRET_MAX_BYTES, `must be at most ${WEBHOOK_SECRET_MAX_BYTES} bytes`);
export const WebhookEventsSchema = z
  .array(z.enum(NOTIFICATION_EVENTS, { error: `must be one of ${NOTIFICATION_EVENTS.join(', ')}` }))
  .min(1, 'name at least one event, or leave events out for all of them')
  .refine((events) => new Set(events).size === events.length, 'names an event twice');

/**
 * What a client sends to create or change a webhook. The secret may be left out when the webhook exists (it keeps
 * its secret); `events` left out means every event.
 */
export const WebhookInputSchema = z.strictObject({
  name: webhookName,
  url: WebhookUrlSchema,
  secret: WebhookSecretSchema.optional(),
  events: WebhookEventsSchema.optional(),
});
export type WebhookInput = z.output<typeof WebhookInputSchema>;

/** A webhook as the tenant's settings keep it (secret included: only the delivery activity reads it). */
export interface Webhook {
  name: string;
  url: string;
  secret: string;
  /** Absent: every event. */
  events?: NotificationEventName[];
  updatedBy: string;
  updatedAt: string;
}

/** A webhook as anyone may see it: never its secret, only that one is set. */
export interface WebhookView {
  name: string;
  url: string;
  events: NotificationEventName[] | 'all';
  secretSet: boolean;
  updatedBy: string;
  updatedAt: string;
}

export function webhookView(w: Webhook): WebhookView {
  return {
    name: w.name,
    url: w.url,
    events: w.events ?? 'all',
    secretSet: w.secret.length > 0,
    updatedBy: w.updatedBy,
    updatedAt: w.updatedAt,
  };
}

export function wantsEvent(w: Pick<Webhook, 'events'>, event: NotificationEventName): boolean {
  return !w.events || w.events.includes(event);
}

/**
 * The tenant's webhooks after `input` is applied by `by` at `at`, or why not: a new webhook needs a secret, and a
 * tenant has at most MAX_WEBHOOKS. Pure: the settings workflow's validator and handler both run it.
 */
export function upsertWebhook(
  webhooks: readonly Webhook[],
  input: WebhookInput,
  by: string,
  at: string,
): { ok: true; webhooks: Webhook[] } | { ok: false; field: string; reason: string } {
  const existing = webhooks.find((w) => w.name === input.name);
  const secret = input.secret ?? existing?.secret;
  if (!secret) return { ok: false, field: 'secret', reason: `is required for a new webhook (at least ${WEBHOOK_SECRET_MIN_BYTES} bytes)` };
  if (!existing && webhooks.length >= MAX_WEBHOOKS)
    return { ok: false, field: 'name', reason: `the tenant has ${MAX_WEBHOOKS} webhooks already: remove one first` };
  const next: Webhook = {
    name: input.name,
    url: input.url,
    secret,
    ...(input.events ? { events: input.events } : {}),
    updatedBy: by,
    updatedAt: at,
  };
  return { ok: true, webhooks: existing ? webhooks.map((w) => (w === existing ? next : w)) : [...webhooks, next] };
}

/**
 * What one notification says (the JSON body a webhook receives, `links` added at delivery). `id` names this
 * notification of this release: a receiver that gets it twice (a retried delivery) can tell.
 */
export interface Notification {
  id: string;
  event: NotificationEventName;
  tenant: string;
  app: string;
  release: { workflowId: string; runId: string };
  /** The ticket that started the release, if one did. */
  ticket?: string;
  revision: { from?: number; to: number };
  /** The group the release was at (the gate's group for needs-approval). */
  group?: number;
  /** Why: the pause's reason, how the release ended. */
  reason?: string;
  /** A pause's details: the pod, step and check it names, who paused. */
  pause?: { pod?: string; step?: string; by?: string; check?: { name: string; type: string; state: string } };
  at: string;
  links?: { release?: string; temporal?: string };
}

/** Failure types of a delivery attempt: `refused` (the receiver's final answer, e.g. 400, 401, 404) is not retried; `failed` is. */
export const NotificationFailureTypes = {
  failed: 'NotificationDeliveryFailed',
  refused: 'NotificationRefused',
} as const;
/** What a failed delivery attempt tells the workflow besides its message. */
export interface DeliveryFailureDetails {
  attempt: number;
  status?: number;
}
